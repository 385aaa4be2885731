"""``latentjam groove extract | apply``: groove templates taken from a played clip and laid on
MIDI files (in a set: a track's ``groove = "funk.groove"``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from latentjam.app.groove_file import apply_groove, extract_groove, read_groove, write_groove
from latentjam.engine.groove import MAX_BARS, GrooveAmounts


def add_parsers(subparsers: argparse._SubParsersAction) -> None:
    groove = subparsers.add_parser(
        "groove", help="groove templates: the feel of a played clip, laid on other loops",
        description="A groove template holds, for each 16th-note slot of a clip a person "
                    "played, how early or late the notes came and how hard (per drum voice "
                    "for drums). `extract` takes one from any MIDI file; `apply` lays one on "
                    "MIDI files; in a set, a track's `groove` key lays it on every bar.")
    verbs = groove.add_subparsers(dest="groove_command", metavar="VERB", required=True)
    p = verbs.add_parser("extract", help="take a groove template from a played MIDI clip",
                         description="Take a groove template from a MIDI clip played by a "
                                     "person (a loop recorded through `play`, or any file).")
    p.add_argument("clip", type=Path, help="a MIDI file")
    p.add_argument("--out", type=Path, required=True, help="the .groove file to write")
    p.add_argument("--bars", type=int, help=f"bars the template spans (default: the clip's, "
                                            f"at most {MAX_BARS}; longer clips fold onto them)")
    p.set_defaults(func=run_extract)

    p = verbs.add_parser("apply", help="lay a groove template on a MIDI file",
                         description="Lay a groove on a MIDI file's notes: each note takes the "
                                     "timing and velocity of its nearest 16th slot.")
    p.add_argument("clip", type=Path, help="a MIDI file (on the grid, as the model writes them)")
    p.add_argument("groove", type=Path, help="a .groove file")
    p.add_argument("--out", type=Path, required=True, help="the MIDI file to write")
    for name, what in (("amount", "of the groove"), ("timing", "of its timing"),
                       ("velocity", "of its velocity")):
        p.add_argument(f"--{name}", type=float, default=100.0, metavar="PERCENT",
                       help=f"how much {what} is laid on, 0..100 (default 100)")
    p.set_defaults(func=run_apply)


def run_extract(args: argparse.Namespace) -> int:
    template = extract_groove(args.clip, args.bars)
    write_groove(template, args.out)
    voices = f", {len(template.voices)} drum voices" if template.voices else ""
    played = sum(1 for v in template.all_notes.velocity if v)
    print(f"wrote {args.out}: {template.slots // 16} bar(s), {played} of {template.slots} "
          f"slots played{voices}")
    return 0


def run_apply(args: argparse.Namespace) -> int:
    amounts = GrooveAmounts(args.amount, args.timing, args.velocity)
    changed = apply_groove(args.clip, read_groove(args.groove), amounts, args.out)
    print(f"wrote {args.out}: {changed} notes grooved")
    return 0
