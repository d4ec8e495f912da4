"""Benchmark: full `journey validate` against the floor of yaml.safe_load + jsonschema.

Generates 500 journeys of 40 steps (every step kind, expressions and templates
in every step that takes them), then times, in this one process and alternating
so machine noise hits both alike:
  floor - yaml.safe_load + Draft202012Validator.validate of each file
  full  - what `journey validate DIR` runs: discovery, YAML with locations,
          schema, flow and semantic rules, IR construction, folder id check
and prints the ratio full/floor (target <= 3) and journeys/s (target >= 200).
The best of several rounds is kept for each: the minimum is the run least
disturbed by other work on a shared machine.

    python bench/compile.py [--journeys 500] [--steps 40] [--rounds 5]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jsonschema
import yaml

from orchestrator.compiler import compile_paths, has_errors, project
from orchestrator.compiler.schema import schema_path


def step_yaml(n: int, steps: int) -> str:
    """Step n of a generated journey; the kinds rotate so every kind appears."""
    nxt = f"s{n + 1}" if n + 1 < steps else "end"
    kind = n % 10
    if n == steps - 1:
        return f"  - id: s{n}\n    send: {{channel: push, title: 'Bye {{{{ customer.first_name | default(\"\") }}}}', body: See you}}\n"
    if kind == 0:
        return (
            f"  - id: s{n}\n    send:\n      channel: email\n"
            f"      subject: \"{{{{ customer.first_name | default('Hi') }}}}, step {n}\"\n"
            f"      body: |\n        <p>Hello {{{{ customer.first_name | default('there') }}}},</p>\n"
            f"        {{% if customer.vip | default(false) %}}<p>VIP offer</p>{{% endif %}}\n"
        )
    if kind == 1:
        return f"  - id: s{n}\n    wait: {n % 5 + 1}h\n"
    if kind == 2:
        return f"  - id: s{n}\n    send: {{channel: sms, body: 'Code {{{{ event.code | default(\"X\") }}}} for step {n}'}}\n"
    if kind == 3:
        return (
            f'  - id: s{n}\n    wait_for:\n      event: clicked_{n}\n      where: "event.step == {n}"\n'
            f"      within: 2d\n      timeout_next: {nxt}\n"
        )
    if kind == 4:
        return (
            f'  - id: s{n}\n    branch:\n      - when: "customer.score | default(0) > {n}"\n        next: {nxt}\n'
            f"      - when: \"customer.country in ['US', 'CA']\"\n        next: {nxt}\n      - else: {nxt}\n"
        )
    if kind == 5:
        return f'  - id: s{n}\n    wait: {{until: "09:30", days: [mon, tue, wed]}}\n'
    if kind == 6:
        return (
            f"  - id: s{n}\n    split:\n      paths:\n        - {{name: a, weight: 45, next: {nxt}}}\n"
            f"        - {{name: b, weight: 45, next: {nxt}}}\n      holdout: 10\n"
        )
    if kind == 7:
        return f'  - id: s{n}\n    update:\n      set: {{stage: s{n}}}\n      compute: {{last_score: "event.score | default(0)"}}\n'
    if kind == 8:
        return (
            f'  - id: s{n}\n    webhook:\n      url: "https://crm.example.com/contacts/{{{{ customer.id }}}}"\n'
            f'      headers: {{Authorization: "Bearer {{{{ secrets.CRM_TOKEN }}}}"}}\n'
            f'      body: {{step: s{n}, email: "{{{{ customer.email }}}}"}}\n'
        )
    return f'  - id: s{n}\n    wait: {{until_date: "customer.renewal_date", offset: -1d, at: "10:00"}}\n'


def journey_yaml(index: int, steps: int) -> str:
    head = (
        f"id: generated_{index}\nname: Generated journey {index}\n"
        f'trigger:\n  event: event_{index % 17}\n  where: "event.value | default(0) >= {index % 50}"\n'
        "entry:\n  audience: \"customer.country in ['US', 'CA', 'FR']\"\n  re_entry: {after: 30d}\n"
        'goal: {event: order_completed, within: 7d}\nexit_on: [unsubscribed, {event: refunded, where: "event.amount > 0"}]\n'
        'settings:\n  timezone: Europe/Paris\n  quiet_hours: {from: "21:00", to: "08:00"}\n  frequency_cap: {max: 3, per: 1d}\n'
        "steps:\n"
    )
    return head + "".join(step_yaml(n, steps) for n in range(steps))


def floor_run(files: list[Path], validator: jsonschema.Draft202012Validator) -> None:
    for f in files:
        validator.validate(yaml.safe_load(f.read_text(encoding="utf-8")))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--journeys", type=int, default=500)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(args.journeys):
            (folder / f"generated_{i}.yaml").write_text(journey_yaml(i, args.steps), encoding="utf-8")
        files = sorted(folder.glob("*.yaml"))
        parallel_from = project.PARALLEL_FROM
        validator = jsonschema.Draft202012Validator(json.loads(schema_path().read_text(encoding="utf-8")))

        result = compile_paths([folder])  # warm-up, and the generated journeys must be valid
        if has_errors(result.diagnostics) or len(result.results) != args.journeys:
            sys.exit("generated journeys do not validate:\n" + "\n".join(d.text() for d in result.diagnostics[:10]))
        floor_run(files[:10], validator)

        floor_times: list[float] = []
        full_times: list[float] = []
        serial_times: list[float] = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            floor_run(files, validator)
            floor_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            compile_paths([folder])
            full_times.append(time.perf_counter() - start)
            # The same work on one core, to show what the process pool adds.
            project.PARALLEL_FROM = sys.maxsize
            start = time.perf_counter()
            compile_paths([folder])
            serial_times.append(time.perf_counter() - start)
            project.PARALLEL_FROM = parallel_from

        # The command as a user runs it, interpreter start-up included (not part of the ratio).
        start = time.perf_counter()
        cli = subprocess.run([sys.executable, "-m", "orchestrator", "validate", str(folder)], capture_output=True, text=True, check=False)
        cli_seconds = time.perf_counter() - start
        if cli.returncode != 0:
            sys.exit(f"journey validate failed: {cli.stdout[-2000:]}{cli.stderr[-2000:]}")

    floor, full, serial = min(floor_times), min(full_times), min(serial_times)
    print(f"journeys: {args.journeys} x {args.steps} steps, best of {args.rounds} rounds")
    print(f"floor (yaml.safe_load + jsonschema): {floor:.3f} s  ({args.journeys / floor:.0f} journeys/s)")
    print(f"full  (journey validate, in process): {full:.3f} s  ({args.journeys / full:.0f} journeys/s)")
    print(f"full on one core:                     {serial:.3f} s  ({args.journeys / serial:.0f} journeys/s)")
    print(f"journey validate as a command:       {cli_seconds:.3f} s  ({args.journeys / cli_seconds:.0f} journeys/s)")
    print(f"ratio full/floor: {full / floor:.2f}  (target <= 3); on one core: {serial / floor:.2f}")


if __name__ == "__main__":
    main()
