"""The replay world: sensor logs (MCAP with Foxglove's schemas) written by every drive,
read back frame by frame; KITTI-format folders."""
