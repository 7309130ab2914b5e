"""The README's marked code blocks run as written, so the docs cannot drift from the code.

A code block is tested when the line before it is ``<!-- test -->`` (invisible on GitHub,
plain in the source). Each such block runs in a fresh temporary directory that links the
repository's shipped folders (``agents``, ``baselines``, ``envs``, ``configs``,
``checkpoints``), with this venv's ``bin`` first on ``PATH`` (so ``python`` and ``polygym``
are the installed ones):

- ``bash``: every command (continuation lines joined, comment lines skipped) must exit 0
  within :data:`TIMEOUT` seconds;
- ``python``: the snippet must exit 0, and for each ``print(...)  # TEXT`` line, ``TEXT``
  must appear in what it prints.

Not run here: the README's two top commands (create a venv, ``pip install``, run the main
job / the test suite). They are tested from a fresh clone by the lead, and CI runs the
second one (``.ci/run``); :func:`test_ci_runs_the_readme_test_command` checks that
``.ci/run`` and the README's second command are the same.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
MARK = "<!-- test -->"
LINKED = ("agents", "baselines", "envs", "configs", "checkpoints")
TIMEOUT = 120


@dataclass(frozen=True)
class Block:
    """A fenced code block of the README."""

    language: str
    text: str
    line: int  # 1-based line of the opening fence
    marked: bool


def read_blocks(text: str) -> list[Block]:
    """Every fenced code block of a Markdown text, with its language and test mark."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        fence = re.match(r"^```(\w*)\s*$", lines[index])
        if not fence:
            index += 1
            continue
        start = index
        end = next(j for j in range(index + 1, len(lines)) if lines[j].startswith("```"))
        before = [x for x in lines[:start] if x.strip()]
        marked = bool(before) and before[-1].strip() == MARK
        blocks.append(Block(fence.group(1), "\n".join(lines[start + 1 : end]), start + 1, marked))
        index = end + 1
    return blocks


def commands(block: Block) -> list[str]:
    """The shell commands of a bash block (``\\`` continuations joined, comments skipped)."""
    joined = block.text.replace("\\\n", " ")
    return [line for line in joined.splitlines() if line.strip() and not line.lstrip().startswith("#")]


MARKED = [block for block in read_blocks(README.read_text(encoding="utf-8")) if block.marked]


def _workdir(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    for name in LINKED:
        (tmp_path / name).symlink_to(REPO / name, target_is_directory=True)
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONPATH"] = f"{REPO}{os.pathsep}{env.get('PYTHONPATH', '')}".rstrip(os.pathsep)
    env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", MPLBACKEND="Agg")
    return tmp_path, env


def test_readme_has_marked_blocks() -> None:
    assert {block.language for block in MARKED} >= {"bash", "python"}
    for block in MARKED:
        assert block.language in ("bash", "python"), f"README.md:{block.line}: {block.language}"


@pytest.mark.parametrize("block", MARKED, ids=[f"README.md:{b.line}" for b in MARKED])
def test_marked_block_runs(block: Block, tmp_path) -> None:
    cwd, env = _workdir(tmp_path)
    if block.language == "python":
        script = cwd / "snippet.py"
        script.write_text(block.text + "\n", encoding="utf-8")
        result = subprocess.run([sys.executable, str(script)], cwd=cwd, env=env, text=True,
                                capture_output=True, timeout=TIMEOUT)
        assert result.returncode == 0, f"README.md:{block.line}\n{result.stderr[-2000:]}"
        for line in block.text.splitlines():
            shown = re.match(r"^\s*print\(.*\)\s+#\s*(.+)$", line)
            if shown:
                assert shown.group(1).strip() in result.stdout, (line, result.stdout)
        return
    for command in commands(block):
        result = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, text=True,
                                capture_output=True, timeout=TIMEOUT)
        assert result.returncode == 0, (
            f"README.md:{block.line}: {command}\n{result.stdout[-1000:]}{result.stderr[-2000:]}"
        )


def test_ci_runs_the_readme_test_command() -> None:
    bash = [b for b in read_blocks(README.read_text(encoding="utf-8")) if b.language == "bash"]
    main_job, test_command = (commands(block) for block in bash[:2])
    assert main_job[0].endswith("python -m baselines.benchmark")
    ci = [line for line in (REPO / ".ci" / "run").read_text().splitlines()
          if line.strip() and not line.startswith(("#", "set ", "cd "))]
    assert ci == test_command
