"""The twin's catalogue of Amazon's public images: moto's 44 stock AMIs, without its 2 558 "latest" ones.

Real AWS lists thousands of public Amazon images in every region. moto builds its whole catalogue (each image with a
volume and a snapshot) every time an account's EC2 backend is made, which is at every reset and every fresh
`mock_aws()`: 0.4 s a region, most of the twin's fidelity tests' time. bluegreen never lists public images (it reads
an AMI by id, or its own and its build accounts' images by name); the demo and the tests bake their AMIs from one
stock image of each architecture, which this catalogue keeps. moto reads `MOTO_AMIS_PATH` when `moto.ec2` is first
imported, so this module must be imported before it (the twin package's `__init__` does).
"""

from __future__ import annotations

import os
from pathlib import Path

CATALOGUE = Path(__file__).with_name("stock_images.json")


def use() -> None:
    """Point moto at this catalogue, unless the user pointed it elsewhere."""
    os.environ.setdefault("MOTO_AMIS_PATH", str(CATALOGUE))
