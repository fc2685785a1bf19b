"""The bundled example builds, verifies and runs."""

import numpy as np
from examples_path import load_example


def test_resnet_block_runs():
    main_job = load_example("main_job")
    module = main_job.resnet_basic_block(channels=4, size=6)
    from ge.testing import run

    (y,) = run(module, [np.ones((1, 4, 6, 6), np.float32)])
    assert y.shape == (1, 4, 6, 6)
    assert (y >= 0).all()
