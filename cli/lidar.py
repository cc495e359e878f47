"""``roadmind lidar``: one scan file through the LiDAR pipeline."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from cli.common import add_lidar_config, finite_float, lidar_config, positive_float
from roadmind.errors import UserError


def cmd_lidar(args: argparse.Namespace) -> int:
    """One scan file -> objects, a bird's-eye PNG and a JSON line: counts, stage times and
    every object (class, centre and size in the sensor frame, yaw, points)."""
    from perception.lidar.pipeline import LidarPipeline, object_dict
    from perception.point_cloud_io import read_points
    from report.lidar_view import lidar_result_bev
    from roadmind.frames import Pose

    y_left = {"auto": None, "y-left": True, "y-right": False}[args.axes]
    config = lidar_config(args)  # its errors name the config file, not the scan
    points = read_points(Path(args.file), y_left)
    file_y_left = y_left if y_left is not None else Path(args.file).suffix.lower() != ".npy"
    sensor = Pose(z_m=args.sensor_z_m)
    try:
        result = LidarPipeline(config).run(points, sensor)
    except ValueError as exc:
        raise UserError(f"{args.file}: {exc}") from None
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    lidar_result_bev(result, extent_m=args.extent_m).save(out)
    objects = [object_dict(obj, sensor, file_y_left) for obj in result.objects]
    axes = "y-left" if file_y_left else "y-right"
    print(
        json.dumps(
            {
                "file": args.file,
                **result.summary(),
                "out": str(out),
                "objects_frame": f"sensor, the file's axes (x forward, {axes}, z up); "
                "size_m: length, width, height; yaw_rad about z from x",
                "object_list": objects,
            }
        )
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("lidar", help="LiDAR objects from a .bin/.pcd/.npy scan, bird's-eye PNG")
    p.add_argument("file", help="KITTI .bin, .pcd or .npy (N, 3|4) scan in the sensor frame")
    p.add_argument("--out", required=True, help="bird's-eye PNG to write")
    p.add_argument(
        "--sensor-z-m",
        type=finite_float,
        default=2.0,
        help="sensor height above the ground (KITTI's HDL-64E: 1.73)",
    )
    p.add_argument(
        "--axes",
        choices=["auto", "y-left", "y-right"],
        default="auto",
        help="the file's y axis; auto: .bin (KITTI) and .pcd (ROS) y-left, .npy y-right",
    )
    p.add_argument(
        "--extent-m", type=positive_float, default=50.0, help="half width of the picture [m]"
    )
    add_lidar_config(p)
    p.set_defaults(func=cmd_lidar)
