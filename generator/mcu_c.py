"""C99 for the RP2040 side of a design: input scaling and quantization, the MCU layers, the exchange with the FPGA,
and argmax. No dynamic memory; the integer arithmetic is contract.fixedpoint's (see docs/deployment-mcu.md).

``emit_mcu_c`` returns an in-memory file system: ``dse_net.h``, ``dse_net.c`` and ``host_check.c``. The host check
emulates the FPGA segment with the same generated layer functions (``DSE_HOST_EMULATE_FPGA``), runs the test
vectors and compares every output code and predicted class with the integer reference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from contract.design import AcceleratorDesign

C_FLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-ffp-contract=off")  # no FMA: numpy's rounding
ARGMAX_RULE = "the largest output code wins; on a tie the lowest index (numpy.argmax, contract reference)"


EMULATION = """#ifdef DSE_HOST_EMULATE_FPGA
int dse_fpga_exchange(const int32_t *in, int n_in, int32_t *out, int n_out) {{
  static int32_t buf_a[{widest}], buf_b[{widest}];
  int32_t *a = buf_a, *b = buf_b;
  if (n_in != DSE_FPGA_IN || n_out != DSE_FPGA_OUT) return -1;
  for (int i = 0; i < n_in; ++i) a[i] = in[i];
{fpga_calls}  for (int i = 0; i < n_out; ++i) out[i] = a[i];
  return 0;
}}
#endif
"""


def _array(name: str, values: np.ndarray, ctype: str = "int32_t") -> str:
    flat = ", ".join(str(int(v)) for v in np.asarray(values).reshape(-1)) or "0"
    return f"static const {ctype} {name}[{max(1, np.asarray(values).size)}] = {{{flat}}};\n"


def _layer_function(index: int, layer: Any) -> str:
    """One dense layer: int64 accumulation (never overflows: |acc| < 2**62 for formats of at most 32 bits), the
    activation on the exact accumulator, one round half up (arithmetic shift) and saturation."""
    frac = layer.acc_frac_bits
    act = {
        "identity": "",
        "relu": "    if (acc < 0) acc = 0;\n",
        "hardtanh": f"    if (acc > (INT64_C(1) << {frac})) acc = INT64_C(1) << {frac};\n"
        f"    if (acc < -(INT64_C(1) << {frac})) acc = -(INT64_C(1) << {frac});\n",
        "hardsigmoid": f"    acc += INT64_C(1) << {frac + 1};\n    if (acc < 0) acc = 0;\n"
        f"    if (acc > (INT64_C(1) << {frac + 2})) acc = INT64_C(1) << {frac + 2};\n",
    }[layer.activation]
    if layer.activation == "hardsigmoid":
        frac += 2
    shift = frac - layer.out_fmt.frac_bits
    requant = (
        f"    acc = dse_round_shift(acc, {shift});\n" if shift > 0 else f"    acc = acc * (INT64_C(1) << {-shift});\n"
    )
    return f"""static void layer{index}(const int32_t *x, int32_t *y) {{
  for (int o = 0; o < {layer.out_features}; ++o) {{
    int64_t acc = layer{index}_b[o];
    for (int i = 0; i < {layer.in_features}; ++i) acc += (int64_t)layer{index}_w[o * {layer.in_features} + i] * x[i];
{act.replace("    ", "    ")}{requant}    y[o] = dse_saturate(acc, {layer.out_fmt.min_int}, {layer.out_fmt.max_int});
  }}
}}
"""


def _check_supported(design: AcceleratorDesign) -> None:
    for index, layer in enumerate(design.layers):
        if layer.kind != "dense":
            raise ValueError(f"MCU code: layer {index} is {layer.kind!r}; the C generator supports dense layers only")
        if layer.acc_bits > 63:
            raise ValueError(f"MCU code: layer {index} needs a {layer.acc_bits}-bit accumulator; C has int64_t")


def emit_mcu_c(
    design: AcceleratorDesign,
    weights: list[Any],
    scaler: dict[str, Any] | None,
    raw_inputs: np.ndarray,
    expected_codes: np.ndarray,
) -> dict[str, str]:
    """The MCU program and its host check for ``raw_inputs`` (N, IN0) with reference outputs ``expected_codes``."""
    _check_supported(design)
    layers, n = design.layers, len(design.layers)
    segment = design.fpga_slice if design.fpga_layers else slice(n, n)
    first_fpga, stop = segment.start, segment.stop
    widest = max(max(layer.in_features, layer.out_features) for layer in layers)
    in_fmt, out_fmt = layers[0].in_fmt, layers[-1].out_fmt
    n_in, n_out = layers[0].in_features, layers[-1].out_features
    offset = scaler["offset"] if scaler else [0.0]
    scale = scaler["scale"] if scaler else [1.0]

    tables = "".join(
        _array(f"layer{i}_w", w.weight) + _array(f"layer{i}_b", w.bias, "int64_t") for i, w in enumerate(weights)
    )
    functions = "".join(_layer_function(i, layer) for i, layer in enumerate(layers))
    head_calls = "".join(f"  layer{i}(a, b); swap(&a, &b);\n" for i in range(first_fpga))
    fpga_calls = "".join(f"  layer{i}(a, b); swap(&a, &b);\n" for i in range(first_fpga, stop))
    tail_calls = "".join(f"  layer{i}(a, b); swap(&a, &b);\n" for i in range(stop, n))
    fpga_in = layers[first_fpga].in_features if first_fpga < n else 0
    fpga_out = layers[stop - 1].out_features if stop > first_fpga else 0
    exchange = "  if (dse_fpga_exchange(a, DSE_FPGA_IN, b, DSE_FPGA_OUT) != 0) return -1;\n  swap(&a, &b);\n"
    exchange = exchange if fpga_calls else ""
    emulation = (
        EMULATION.format(widest=widest, fpga_calls=fpga_calls) if fpga_calls else "/* every layer runs here */\n"
    )
    scale_table = "".join(
        [
            f"static const double scaler_offset[{len(offset)}] = {{{', '.join(repr(float(v)) for v in offset)}}};\n",
            f"static const double scaler_scale[{len(scale)}] = {{{', '.join(repr(float(v)) for v in scale)}}};\n",
        ]
    )
    header = f"""/* dse_net: the RP2040 side of design {design.name!r} (generated by dse; C99, no dynamic memory). */
#ifndef DSE_NET_H
#define DSE_NET_H
#include <stdint.h>

#define DSE_N_INPUTS {n_in}
#define DSE_N_OUTPUTS {n_out}
#define DSE_FPGA_IN {fpga_in}
#define DSE_FPGA_OUT {fpga_out}

/* Raw features -> input codes: x' = (x - offset) / scale (scaler.json), then round half up and saturate. */
void dse_quantize_input(const double raw[DSE_N_INPUTS], int32_t codes[DSE_N_INPUTS]);
/* Input codes -> output codes: MCU layers before the FPGA, the FPGA segment over SPI, MCU layers after. */
int dse_infer(const int32_t codes[DSE_N_INPUTS], int32_t out[DSE_N_OUTPUTS]);
/* Output code -> value; argmax: {ARGMAX_RULE}. */
double dse_dequantize(int32_t code);
int dse_argmax(const int32_t out[DSE_N_OUTPUTS]);
/* The board's SPI exchange with the FPGA (write inputs, start, poll, read outputs; docs/deployment-mcu.md).
   Returns 0 on success. The host check defines it by emulating the FPGA segment (DSE_HOST_EMULATE_FPGA). */
int dse_fpga_exchange(const int32_t *in, int n_in, int32_t *out, int n_out);
#endif
"""
    source = f"""/* dse_net.c: generated by dse from design {design.name!r}; bit-exact with contract/reference.py. */
#include <math.h>
#include "dse_net.h"

{scale_table}
static int64_t dse_round_shift(int64_t v, int s) {{
  /* floor(v / 2**s + 1/2): an arithmetic shift written with floor division, defined for negative v in C99. */
  int64_t d = INT64_C(1) << s, n = v + (d >> 1);
  return n >= 0 ? n / d : -((-n + d - 1) / d);
}}

static int32_t dse_saturate(int64_t v, int64_t lo, int64_t hi) {{
  return (int32_t)(v < lo ? lo : (v > hi ? hi : v));
}}

static void swap(int32_t **a, int32_t **b) {{
  int32_t *t = *a; *a = *b; *b = t;
}}

{tables}
{functions}
void dse_quantize_input(const double raw[DSE_N_INPUTS], int32_t codes[DSE_N_INPUTS]) {{
  for (int i = 0; i < DSE_N_INPUTS; ++i) {{
    double v = (raw[i] - scaler_offset[i % {len(offset)}]) / scaler_scale[i % {len(scale)}];
    double q = floor(v * {float(in_fmt.scale)!r} + 0.5);
    codes[i] = q < {in_fmt.min_int} ? {in_fmt.min_int} : (q > {in_fmt.max_int} ? {in_fmt.max_int} : (int32_t)q);
  }}
}}

{emulation}
int dse_infer(const int32_t codes[DSE_N_INPUTS], int32_t out[DSE_N_OUTPUTS]) {{
  static int32_t buf_a[{widest}], buf_b[{widest}];
  int32_t *a = buf_a, *b = buf_b;
  for (int i = 0; i < DSE_N_INPUTS; ++i) a[i] = codes[i];
{head_calls}{exchange}{tail_calls}  for (int i = 0; i < DSE_N_OUTPUTS; ++i) out[i] = a[i];
  return 0;
}}

double dse_dequantize(int32_t code) {{ return code / {float(out_fmt.scale)!r}; }}

int dse_argmax(const int32_t out[DSE_N_OUTPUTS]) {{
  int best = 0;
  for (int i = 1; i < DSE_N_OUTPUTS; ++i) if (out[i] > out[best]) best = i;
  return best;
}}
"""
    raw = np.asarray(raw_inputs, dtype=np.float64)
    expected = np.asarray(expected_codes, dtype=np.int64)
    vectors = ",\n".join("  {" + ", ".join(repr(float(v)) for v in row) + "}" for row in raw)
    outputs = ",\n".join("  {" + ", ".join(str(int(v)) for v in row) + "}" for row in expected)
    check = f"""/* host_check.c: the test vectors through dse_net.c (FPGA emulated), against the integer reference. */
#include <stdio.h>
#include "dse_net.h"

#define N_VECTORS {len(raw)}
static const double raw[N_VECTORS][DSE_N_INPUTS] = {{
{vectors}
}};
static const int32_t expected[N_VECTORS][DSE_N_OUTPUTS] = {{
{outputs}
}};

int main(void) {{
  int mismatches = 0;
  for (int v = 0; v < N_VECTORS; ++v) {{
    int32_t codes[DSE_N_INPUTS], out[DSE_N_OUTPUTS];
    dse_quantize_input(raw[v], codes);
    if (dse_infer(codes, out) != 0) {{ ++mismatches; continue; }}
    int best = 0;
    for (int i = 0; i < DSE_N_OUTPUTS; ++i) {{
      if (out[i] != expected[v][i]) ++mismatches;
      if (expected[v][i] > expected[v][best]) best = i;
    }}
    if (dse_argmax(out) != best) ++mismatches;
  }}
  printf("vectors %d mismatches %d\\n", N_VECTORS, mismatches);
  return mismatches != 0;
}}
"""
    return {"dse_net.h": header, "dse_net.c": source, "host_check.c": check}
