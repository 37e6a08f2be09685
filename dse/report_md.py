"""report.md of an exported design: layers, estimates, a power and energy breakdown that adds up, verification,
synthesis next to the estimates (exact figures), class labels."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contract.design import AcceleratorDesign
from dse.report_table import folding_label, weight_bits


def exact(value: float) -> str:
    """Integers as integers, anything else with its fraction (0.5 BRAM stays 0.5)."""
    value = float(value)
    return f"{value:.0f}" if value.is_integer() else f"{round(value, 3):g}"


def percent_error(estimate: float, measured: float) -> str:
    if estimate == measured:
        return "exact"
    return "n/a (measured 0)" if measured == 0 else f"{100.0 * (estimate - measured) / measured:+.1f} %"


def _layers(design: dict[str, Any]) -> list[str]:
    lines = [
        "| layer | in → out | act | bits x/w/y | PE × SIMD | multiplier | storage | placement | cycles "
        "| bound MACs/(PE·SIMD) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for index, layer in enumerate(AcceleratorDesign.from_dict(design).layers):
        folding = layer.folding
        lines.append(
            f"| {index} | {layer.in_size} → {layer.out_size} | {getattr(layer, 'activation', layer.kind)} | "
            f"{layer.in_fmt.total_bits}/{weight_bits(layer) or '-'}/{layer.out_fmt.total_bits} | "
            f"{folding_label(layer, ' × ')} | {getattr(folding, 'multiplier', '-')} | "
            f"{getattr(layer, 'rom_storage', '-')} | {layer.placement} | "
            f"{layer.latency_cycles if layer.placement == 'fpga' else '-'} | {layer.bound_cycles:.1f} |"
        )
    return lines


def _energy(record: dict[str, Any]) -> list[str]:
    estimate = record["estimate"]
    if "energy" not in record:  # an export record written before the energy terms were stored
        return [
            "## Power and energy per inference",
            f"{estimate['energy_uj']:.6g} µJ per inference at {estimate['power_mw']:.4g} mW (FPGA static "
            f"{estimate['static_mw']:.4g} mW, dynamic {estimate['dynamic_mw']:.4g} mW); this record predates the "
            "term-by-term breakdown: re-export the trial to get it.",
        ]
    energy = record["energy"]
    terms = energy["terms"]
    total_nj = sum(term["energy_nj"] for term in terms)
    latency = estimate["latency_us"]
    lines = [
        "## Power and energy per inference",
        f"Each term is a power drawn for a time; the energies add up to {exact(total_nj)} nJ = "
        f"{total_nj / 1000:.6g} µJ per inference, and the average power is that energy over the "
        f"{exact(latency)} µs of an inference: {total_nj / latency:.4g} mW.",
        "",
        "| when | term | power mW | time µs | energy nJ | power from |",
        "|---|---|---:|---:|---:|---|",
    ]
    for term in terms:
        lines.append(
            f"| {term['phase']} | {term['name']} | {term['power_mw']:.4f} | {term['time_us']:.4f} | "
            f"{term['energy_nj']:.4f} | {term['kind']}: {term['source']} |"
        )
    lines.append(f"| **total** | | {total_nj / latency:.4f} (average) | {latency:.4f} | **{total_nj:.4f}** | |")
    lines += [
        "",
        "- *calibrated*: fitted by `dse calibrate fit` (power: "
        f"{energy['power_source'] or 'no source recorded'}; file {energy['calibration']}, "
        f"version {energy.get('calibration_version') or 'unknown'}).",
        "- *assumed*: board figures from the calibration file's `board` section, documented but not measured "
        f"on this design ({energy['board_source'] or 'no source recorded'}).",
        "- Times: FPGA = estimated cycles / clock"
        + (" (equal to the simulated latency, see Verification)" if record.get("verified") else "")
        + "; MCU = layer MACs × board cycles per MAC (assumed); SPI = activation bits / link clock + "
        "overhead (assumed).",
    ]
    if abs(total_nj / 1000 - estimate["energy_uj"]) > 1e-9 * max(1.0, estimate["energy_uj"]):
        lines.append(
            f"- **Note**: the study recorded {estimate['energy_uj']:.6g} µJ; the calibration has changed since."
        )
    synthesized = energy.get("synthesized_dynamic_mw")
    if synthesized is not None:
        lines.append(
            f"- With the synthesized LUT/FF/DSP/BRAM instead of the estimates, FPGA dynamic power would be "
            f"{synthesized:.4f} mW (estimate {estimate['dynamic_mw']:.4f} mW)."
        )
    return lines


def _verification(record: dict[str, Any]) -> list[str]:
    verification = record.get("verification")
    if verification is None:
        return ["Not run (use `--verify`). This design is **not verified**."]
    verdict = "**verified**" if verification["verified"] else "**NOT verified**"
    lines = [
        f"{verdict}: {verification['n_vectors']} vectors in GHDL, {verification['mismatches']} mismatches; "
        f"latency {verification['latency_cycles']} cycles (estimate {verification['expected_latency_cycles']}), "
        f"II {verification['ii_cycles']} cycles (estimate {verification['expected_ii_cycles']})."
    ]
    if verification.get("error"):
        lines.append(f"\nError: {verification['error']}")
    return lines


def _synthesis(record: dict[str, Any]) -> list[str]:
    synthesis, estimate, design = record.get("synthesis"), record["estimate"], record["design"]
    if synthesis is None:
        return ["Not run (use `--synth`)."]
    lines = ["| resource | estimate | synthesis | error |", "|---|---:|---:|---|"]
    before = record.get("estimate_pre_training")
    if before:  # what the search pruned with, before the trained ROM contents were known
        lines.append(
            f"| LUT before training | {exact(before['lut'])} | {exact(synthesis['lut'])} | "
            f"{percent_error(before['lut'], synthesis['lut'])} |"
        )
    for key in ("lut", "ff", "dsp", "bram"):
        lines.append(
            f"| {key.upper()} | {exact(estimate[key])} | {exact(synthesis[key])} | "
            f"{percent_error(estimate[key], synthesis[key])} |"
        )
    if synthesis.get("logic_cells") is not None and estimate.get("logic_cells"):
        cells = synthesis["logic_cells"]
        placed = "placed" if synthesis.get("placed") else "**did not place**"
        lines.append(
            f"| logic cells | {exact(estimate['logic_cells'])} | {cells} ({placed}) | "
            f"{percent_error(estimate['logic_cells'], cells)} |"
        )
    if synthesis.get("fmax_mhz"):
        fmax, target = synthesis["fmax_mhz"], design["clock_mhz"]
        verdict = "meets the target" if fmax >= target else "**misses the target clock**"
        estimated = estimate.get("fmax_mhz")
        shown = f"{estimated:.1f} MHz" if estimated else "—"
        error = percent_error(estimated, fmax) if estimated else "—"
        lines.append(f"| fmax | {shown} | {fmax:.1f} MHz | {error}; {verdict} ({target} MHz) |")
        lines.append(f"\nMeasured fmax: {synthesis.get('fmax_source') or 'nextpnr-ice40'}.")
    versions = ", ".join(f"{k} {v}" for k, v in synthesis["tool_versions"].items())
    lines.append(f"\nBRAM counts 36-kbit blocks (a RAMB18 is 0.5) on 7-series. Tools: {versions}.")
    if record.get("synthesis_plot"):
        lines.append(f"\n![estimate vs synthesis]({record['synthesis_plot']})")
    return lines


def _labels(record: dict[str, Any]) -> list[str]:
    labels = record.get("labels")
    if not labels:
        return []
    outputs = labels["outputs"]
    shown = ", ".join(f"{index} → {name!r}" for index, name in enumerate(outputs[:20]))
    more = f", … ({len(outputs)} in all)" if len(outputs) > 20 else ""
    return [
        "",
        "## Class labels",
        f"Output i of the network scores class i ({labels['file']}): {shown}{more}. The predicted class is the "
        "output with the largest value; on a tie the lowest index wins (numpy argmax).",
    ]


def write_report(path: Path, record: dict[str, Any]) -> None:
    estimate, design = record["estimate"], record["design"]
    metrics = record.get("metrics", {})
    objectives = ", ".join(f"{k} = {v:.6g}" for k, v in record["objectives"].items())
    lines = [
        f"# {design['name']}: trial {record['trial']} of study {record['study']}",
        "",
        f"Device {design['device']} at {design['clock_mhz']} MHz. Objectives (quality: integer model on the "
        f"validation split; the rest: estimates): {objectives}.",
    ]
    tested = {k: v for k, v in metrics.items() if k.startswith(("test_", "float_test_"))}
    if tested:
        lines.append(
            "Test split (not used by the search; `float_` = the same weights without rounding): "
            + ", ".join(f"{k} = {v:.6g}" for k, v in tested.items())
        )
    lines += ["", *_layers(design)]
    lines += [
        "",
        "## Estimates",
        f"- latency: {estimate['cycles']} cycles (bound Σ MACs/(PE·SIMD) = {estimate['bound_cycles']:.1f}, "
        f"{estimate['cycles'] / max(estimate['bound_cycles'], 1e-9):.2f}× the bound), "
        f"initiation interval {estimate['ii_cycles']} cycles",
        f"- time per inference: {exact(estimate['latency_us'])} µs = FPGA {exact(estimate['fpga_latency_us'])} "
        f"+ MCU {exact(estimate['mcu_latency_us'])} + SPI {exact(estimate['transfer_us'])}",
        f"- resources: LUT {exact(estimate['lut'])}, FF {exact(estimate['ff'])}, DSP {exact(estimate['dsp'])}, "
        f"BRAM {exact(estimate['bram'])}",
        "",
        *_energy(record),
        "",
        "## Verification",
        *_verification(record),
        "",
        "## Synthesis (open source: ghdl synth + yosys)",
        *_synthesis(record),
        *_labels(record),
    ]
    path.write_text("\n".join(lines) + "\n")
