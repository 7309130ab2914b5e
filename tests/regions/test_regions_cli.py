"""``python -m envs.regions.count``: one-line errors (exit 2) for bad weight files (issue 14)."""

import json
import subprocess
import sys

import numpy as np
import pytest

from envs.cli import UsageError, run_cli
from envs.regions.count import main
from envs.regions.network import random_network


def run_main(argv):
    """Run through :func:`run_cli` like ``python -m``; return (exit status, stderr lines)."""
    with pytest.raises(SystemExit) as stop:
        run_cli(main, argv)
    return stop.value.code


def _write(path, **arrays):
    np.savez(path, **arrays)
    return str(path)


@pytest.fixture
def bad_files(tmp_path):
    ones = np.ones((3, 2))
    files = {
        "layer gap": _write(tmp_path / "gap.npz", W0=ones, b0=np.zeros(3), W2=np.ones((1, 3)),
                            b2=np.zeros(1)),
        "complex": _write(tmp_path / "complex.npz", W0=ones * 1j, b0=np.zeros(3),
                          W1=np.ones((1, 3)), b1=np.zeros(1)),
        "missing bias": _write(tmp_path / "nobias.npz", W0=ones),
        "not numeric": _write(tmp_path / "object.npz", W0=np.array([[1, "a"]], dtype=object),
                              b0=np.zeros(1)),
        "overflow": _write(tmp_path / "huge.npz", W0=ones * 1e300, b0=np.ones(3) * 1e300,
                           W1=np.ones((2, 3)) * 1e300, b1=np.zeros(2),
                           W2=np.ones((1, 2)) * 1e300, b2=np.zeros(1)),
    }
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "text.npz").write_text("not an archive\n")
    np.save(tmp_path / "single.npy", np.ones(3))
    (tmp_path / "single.npy").rename(tmp_path / "single.npz")
    files["empty"] = str(tmp_path / "empty.npz")
    files["text"] = str(tmp_path / "text.npz")
    files["single array"] = str(tmp_path / "single.npz")
    files["no such file"] = str(tmp_path / "missing.npz")
    return files


@pytest.mark.parametrize("case,needle", [
    ("layer gap", "layer gap"), ("complex", "complex"), ("missing bias", "missing bias"),
    ("not numeric", "not a numeric"), ("overflow", "overflow"), ("empty", "not a readable"),
    ("text", "not a readable"), ("single array", "single array"), ("no such file", "no such file"),
])
def test_bad_weight_files_are_one_line_errors(bad_files, capsys, case, needle):
    assert run_main(["--weights", bad_files[case], "--method", "traversal"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and needle in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("arch", ["2,,1", "2,1,", ",2,1", "2,x,1", "2", "2,0,1"])
def test_bad_architecture(capsys, arch):
    assert run_main(["--arch", arch]) == 2
    assert capsys.readouterr().err.startswith("error: ")
    with pytest.raises(UsageError):
        main(["--arch", arch])


def test_overflowing_weights_through_python_m(bad_files):
    done = subprocess.run([sys.executable, "-m", "envs.regions.count", "--weights",
                           bad_files["overflow"]], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: weights too large")
    assert "Traceback" not in done.stderr


def test_large_but_representable_weights_count_like_the_unscaled_net(tmp_path, capsys):
    net = random_network([2, 5, 3, 1], 4)
    path = tmp_path / "big.npz"
    arrays = {}
    for index, (w, b) in enumerate(zip(net.weights, net.biases, strict=True)):
        arrays[f"W{index}"], arrays[f"b{index}"] = w * 1e100, b * 1e100 ** (index + 1)
    np.savez(path, **arrays)
    counts = set()
    for source in (["--weights", str(path)], ["--arch", "2,5,3,1", "--seed", "4"]):
        for method in ("exact", "traversal"):
            assert main([*source, "--method", method, "--no-monomials"]) == 0
            counts.add(json.loads(capsys.readouterr().out)["count"])
    assert len(counts) == 1


def test_help_explains_count_and_num_cells(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "linear regions" in text and "num_cells" in text and "disconnected" in text


def test_time_limit_reports_unknown(capsys):
    assert main(["--arch", "4,30,30,1", "--method", "traversal", "--time-limit", "0.2",
                 "--no-monomials"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] is None and report["status"].startswith("unknown")
