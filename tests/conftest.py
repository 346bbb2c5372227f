"""Test session setup: two logical CPU devices, so MirroredStrategy tests run on 2 replicas.

Logical devices can only be created before TensorFlow initialises, hence here at import time.
"""
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from trainers import strategy  # noqa: E402

strategy.configure_devices("mirrored", cpu_devices=2)
