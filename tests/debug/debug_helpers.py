"""A module to debug: its script imports a helper from an additional include, so breakpoints
are set in files of two source folders, neither of them the run's snapshot."""

from __future__ import annotations

import textwrap
from pathlib import Path

SCRIPT = """\
import argparse
import pathlib

from helpers.text import shout

parser = argparse.ArgumentParser()
parser.add_argument("--words")
parser.add_argument("--out")
args = parser.parse_args()
loud = shout(pathlib.Path(args.words).read_text())
pathlib.Path(args.out, "loud.txt").write_text(loud)  # line 11: the breakpoint
"""
SCRIPT_LINE = 11

HELPER = """\
def shout(text):
    louder = text.upper()
    return louder + "!"
"""
HELPER_LINE = 3

SPEC = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: loud
version: 0.0.1
inputs:
  words: {type: uri_file}
outputs:
  out: {type: uri_folder}
code: ./src
command: python main.py --words ${{inputs.words}} --out ${{outputs.out}}
"""


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.spec = root / "module" / "loud.yml"
        self.script = root / "module" / "src" / "main.py"
        self.helper = root / "shared" / "helpers" / "text.py"
        self.words = root / "words.txt"


def make_project(root: Path) -> Project:
    made = Project(root.resolve())
    made.script.parent.mkdir(parents=True)
    made.helper.parent.mkdir(parents=True)
    made.spec.write_text(SPEC)
    (made.spec.parent / "loud.additional_includes").write_text("../shared/helpers\n")
    made.script.write_text(SCRIPT)
    made.helper.write_text(textwrap.dedent(HELPER))
    made.words.write_text("hello")
    return made


WRITER_SPEC = """\
$schema: https://azuremlschemas.azureedge.net/latest/commandComponent.schema.json
type: command
name: writer
version: 0.0.1
outputs:
  words: {type: uri_file}
code: .
command: python writer.py ${{outputs.words}}
"""

PIPELINE = """\
$schema: https://azuremlschemas.azureedge.net/latest/pipelineJob.schema.json
type: pipeline
display_name: write then shout
jobs:
  write:
    type: command
    component: ./writer/writer.yml
  loud:
    type: command
    component: ./module/loud.yml
    inputs:
      words: ${{parent.jobs.write.outputs.words}}
"""


def add_pipeline(project: Project) -> Path:
    """`write` (a file of words) -> `loud` (the project's module); the pipeline file."""
    writer = project.root / "writer"
    writer.mkdir()
    (writer / "writer.yml").write_text(WRITER_SPEC)
    (writer / "writer.py").write_text(
        "import pathlib, sys\npathlib.Path(sys.argv[1]).write_text('from upstream')\n"
    )
    path = project.root / "pipeline.yml"
    path.write_text(PIPELINE)
    return path
