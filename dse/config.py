"""The search file: a validated, documented schema (see search_spaces/quickstart.yaml for an annotated example)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from contract.devices import load_devices
from contract.layers import KINDS, Knob
from dse.errors import ConfigError, not_a_file

Scalar = int | float | str | bool


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # NaN passes every bound check


class Choices(Strict):
    """Search over a list: `{choices: [8, 16, 32]}`."""

    choices: list[Scalar] = Field(min_length=1)


class IntRange(Strict):
    """Search over integers: `{low: 1, high: 3, step: 1}` (both ends included)."""

    low: int
    high: int
    step: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        if self.low > self.high:
            raise ValueError(f"empty range: low ({self.low}) > high ({self.high})")
        return self


class FloatRange(Strict):
    """Search over reals: `{low: 1e-3, high: 1e-2, log: true}`."""

    low: float
    high: float
    log: bool = False

    @model_validator(mode="after")
    def _ordered(self) -> FloatRange:
        if self.low > self.high:
            raise ValueError(f"empty range: low ({self.low}) > high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


def _param_shape(value: Any) -> str:
    if isinstance(value, dict | BaseModel):
        keys = value.keys() if isinstance(value, dict) else type(value).model_fields.keys()
        return "choices" if "choices" in keys else "range"
    return "fixed"


def _no_bool(value: Any) -> Any:
    """Lax validation would turn `clock_mhz: true` into 1 before the bounds see it (choices keep their bools, and
    the bounds refuse them)."""
    ends = [value.get("low"), value.get("high")] if isinstance(value, dict) else [value]
    if any(isinstance(end, bool) for end in ends):
        raise ValueError(f"values must be numbers, not true/false, got {value!r}")
    return value


_PARAM_TAGS = ("fixed", "range", "choices")
IntParam = Annotated[
    Annotated[int, Tag("fixed")] | Annotated[IntRange, Tag("range")] | Annotated[Choices, Tag("choices")],
    Discriminator(_param_shape),
    BeforeValidator(_no_bool),
]
FloatParam = Annotated[
    Annotated[float, Tag("fixed")] | Annotated[FloatRange, Tag("range")] | Annotated[Choices, Tag("choices")],
    Discriminator(_param_shape),
    BeforeValidator(_no_bool),
]
StrParam = Annotated[
    Annotated[str, Tag("fixed")] | Annotated[Choices, Tag("choices")],
    Discriminator(lambda v: "choices" if isinstance(v, dict | Choices) else "fixed"),
]


def param_values(param: Any) -> list[Any]:
    """The values a parameter can take that bound checks must see: a range's two ends, every choice."""
    if isinstance(param, IntRange | FloatRange):
        return [param.low, param.high]
    if isinstance(param, Choices):
        return list(param.choices)
    return [param]


def _bounded(low: float, high: float | None, integer: bool = True, low_open: bool = False) -> AfterValidator:
    """Every value of a parameter in [low, high] (or (low, high] with ``low_open``); choices of the right type."""

    def check(param: Any) -> Any:
        for value in param_values(param):
            kind_ok = isinstance(value, int) if integer else isinstance(value, int | float)
            if isinstance(value, bool) or not kind_ok:
                raise ValueError(f"values must be {'integers' if integer else 'numbers'}, got {value!r}")
            below = value <= low if low_open else value < low
            if below or (high is not None and value > high):
                allowed = f"{'>' if low_open else '>='} {low}" + ("" if high is None else f" and <= {high}")
                raise ValueError(f"values must be {allowed}, got {value!r}")
        return param

    return AfterValidator(check)


class StudySection(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    results_dir: Path | None = None
    seed: int = Field(default=0, ge=0, le=2**32 - 1)  # numpy and torch seeds are 32/64-bit; trials add to it


class DatasetSection(Strict):
    kind: Literal[
        "digits", "sensor", "italy_power_demand", "gunpoint", "basic_motions", "sensor_activity", "csv", "npz"
    ]
    path: Path | None = None
    feature_columns: list[str] | None = None
    target_columns: list[str] | None = None
    task: Literal["classification", "regression"] | None = None
    x_key: str = "x"
    y_key: str = "y"
    val_fraction: float = Field(default=0.15, gt=0, lt=0.5)
    test_fraction: float = Field(default=0.15, gt=0, lt=0.5)
    max_samples: int | None = Field(default=None, ge=20)
    input_shape: tuple[Annotated[int, Field(ge=1)], Annotated[int, Field(ge=1)]] | None = None  # [channels, length]
    scale: Literal["standard", "minmax", "none"] = "standard"  # fitted on the training split only

    @model_validator(mode="after")
    def _files(self) -> DatasetSection:
        if self.kind in ("csv", "npz"):
            if self.path is None:
                raise ValueError(f"path is required for kind {self.kind!r}")
            if self.task is None:
                raise ValueError(f"task (classification or regression) is required for kind {self.kind!r}")
        if self.kind == "csv" and not self.target_columns:
            raise ValueError("target_columns is required for kind 'csv'")
        if self.input_shape is not None and self.kind not in ("csv", "npz"):
            raise ValueError(f"input_shape is only for csv and npz files; {self.kind!r} has its own shape")
        return self

    @property
    def builtin_task(self) -> str | None:
        if self.kind in ("csv", "npz"):
            return self.task
        return "regression" if self.kind == "sensor" else "classification"


MAX_HIDDEN_LAYERS = 64
MAX_WIDTH = 4096
MAX_BITS = 32  # contract.fixedpoint: formats are 2..32 bits (1 bit holds only the sign)
MAX_EPOCHS = 100_000


class MlpSection(Strict):
    family: Literal["mlp"] = "mlp"
    # Bounds keep every candidate trainable in finite time (100000 layers would hang the first trial).
    hidden_layers: Annotated[IntParam, _bounded(0, MAX_HIDDEN_LAYERS)] = 1
    width: Annotated[IntParam, _bounded(1, MAX_WIDTH)] = 16
    activation: StrParam = "relu"

    @field_validator("activation")
    @classmethod
    def _known_activation(cls, value: StrParam) -> StrParam:
        allowed = ("relu", "hardtanh", "hardsigmoid", "identity")
        for item in value.choices if isinstance(value, Choices) else [value]:
            if item not in allowed:
                raise ValueError(f"unknown activation {item!r}; allowed: {', '.join(allowed)}")
        return value

    def max_layers(self) -> int:
        """Most layers a candidate can have (bounds hardware.mcu_tail_layers)."""
        return max(param_values(self.hidden_layers)) + 1


def _only_bools(value: Any) -> Any:
    for item in value.choices if isinstance(value, Choices) else [value]:
        if not isinstance(item, bool):
            raise ValueError(f"values must be true or false, got {item!r}")
    return value


BoolParam = Annotated[
    Annotated[StrictBool, Tag("fixed")] | Annotated[Choices, Tag("choices")],
    Discriminator(lambda v: "choices" if isinstance(v, dict | Choices) else "fixed"),
    AfterValidator(_only_bools),
]
MAX_BLOCKS, MAX_CHANNELS, MAX_KERNEL = 16, 512, 64
POOLINGS = ("none", "max", "avg")


def _allowed(name: str, allowed: tuple[Any, ...]) -> AfterValidator:
    def check(value: Any) -> Any:
        for item in value.choices if isinstance(value, Choices) else [value]:
            if item not in allowed:
                raise ValueError(f"unknown {name} {item!r}; allowed: {', '.join(map(str, allowed))}")
        return value

    return AfterValidator(check)


class Conv1dSection(Strict):
    """A 1D-CNN on (channels, length) series: conv blocks -> [pool] -> flatten -> dense head (docs/search-file.md)."""

    family: Literal["conv1d"]
    blocks: Annotated[IntParam, _bounded(1, MAX_BLOCKS)] = 2
    channels: Annotated[IntParam, _bounded(1, MAX_CHANNELS)] = 8
    kernel_size: Annotated[IntParam, _bounded(1, MAX_KERNEL)] = 3
    stride: Annotated[IntParam, _bounded(1, MAX_KERNEL)] = 1
    padding: Annotated[StrParam, _allowed("padding", ("valid", "same"))] = "same"
    separable: BoolParam = False
    batch_norm: StrictBool = True
    pooling: Annotated[StrParam, _allowed("pooling", POOLINGS)] = "none"
    pool_window: Annotated[IntParam, _bounded(2, MAX_KERNEL)] = 2
    global_pool: BoolParam = False  # global average pooling (one value per channel) before the dense head
    head_layers: Annotated[IntParam, _bounded(0, MAX_HIDDEN_LAYERS)] = 0
    head_width: Annotated[IntParam, _bounded(1, MAX_WIDTH)] = 16
    activation: Annotated[StrParam, _allowed("activation", ("relu", "hardtanh", "hardsigmoid", "identity"))] = "relu"

    def max_layers(self) -> int:
        per_block = 2 if True in param_values(self.separable) else 1
        pools = 0 if param_values(self.pooling) == ["none"] else 1
        globals_ = 1 if True in param_values(self.global_pool) else 0
        blocks = max(param_values(self.blocks))
        return blocks * (per_block + pools) + globals_ + max(param_values(self.head_layers)) + 1


MAX_HIDDEN_SIZE, MAX_RECURRENT_LAYERS = 256, 2


class RecurrentSection(Strict):
    """An LSTM or GRU on (channels, length) series: [projection] -> 1-2 recurrent layers -> dense head on the last
    state (docs/search-file.md). The state uses the activation format; gates and cell state have their own bits."""

    family: Literal["lstm"]
    cell: Annotated[StrParam, _allowed("cell", ("lstm", "gru"))] = "lstm"
    hidden_size: Annotated[IntParam, _bounded(1, MAX_HIDDEN_SIZE)] = 16
    layers: Annotated[IntParam, _bounded(1, MAX_RECURRENT_LAYERS)] = 1
    projection: Annotated[IntParam, _bounded(0, MAX_CHANNELS)] = 0  # 0: none; else channels of a linear kernel-1 conv
    head_layers: Annotated[IntParam, _bounded(0, MAX_HIDDEN_LAYERS)] = 0
    head_width: Annotated[IntParam, _bounded(1, MAX_WIDTH)] = 16
    activation: Annotated[StrParam, _allowed("activation", ("relu", "hardtanh", "hardsigmoid", "identity"))] = "relu"
    gate_bits: Annotated[IntParam, _bounded(3, 18)] = 8  # gates in Q(gate_bits).(gate_bits - 2)
    cell_bits: Annotated[IntParam, _bounded(2, MAX_BITS)] = 12  # LSTM cell state
    cell_int_bits: Annotated[IntParam, _bounded(1, MAX_BITS)] = 4  # sign included

    @model_validator(mode="after")
    def _cell_format_fits(self) -> RecurrentSection:
        widest = max(param_values(self.cell_bits))
        for value in param_values(self.cell_int_bits):
            if value > widest:
                raise ValueError(f"cell_int_bits {value} is above every cell_bits choice (at most {widest})")
        return self

    def max_layers(self) -> int:
        projection = 1 if max(param_values(self.projection)) > 0 else 0
        return projection + max(param_values(self.layers)) + max(param_values(self.head_layers)) + 1


class PretrainedSection(Strict):
    """A trained float model from a file (dse.pretrained): quantization and hardware are searched around it."""

    family: Literal["pretrained"]
    path: Path  # .onnx, or a state_dict (.pt/.pth) of an nn.Sequential of Linear layers
    activation: Literal["relu", "hardtanh", "hardsigmoid", "identity"] = "relu"  # hidden layers of a state_dict

    def max_layers(self) -> int:
        return 10**6  # known once the file is read; sampling caps mcu_tail_layers at the file's layer count


def _family(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("family", "mlp"))
    return str(getattr(value, "family", "mlp"))


MODEL_FAMILIES = ("mlp", "conv1d", "lstm", "pretrained")
ModelSection = Annotated[
    Annotated[MlpSection, Tag("mlp")]
    | Annotated[Conv1dSection, Tag("conv1d")]
    | Annotated[RecurrentSection, Tag("lstm")]
    | Annotated[PretrainedSection, Tag("pretrained")],
    Discriminator(
        _family,
        custom_error_type="unknown_family",
        custom_error_message=f"unknown family; allowed: {', '.join(MODEL_FAMILIES)}",
    ),
]


class QuantizationSection(Strict):
    """Total bits and integer bits (sign included); fractional bits = total - int."""

    activation_bits: Annotated[IntParam, _bounded(2, MAX_BITS)] = 8
    activation_int_bits: Annotated[IntParam, _bounded(1, MAX_BITS)] = 3
    weight_bits: Annotated[IntParam, _bounded(2, MAX_BITS)] = 8
    weight_int_bits: Annotated[IntParam, _bounded(1, MAX_BITS)] = 1
    per_layer: StrictBool = False  # mixed precision: activation/weight bits per layer boundary / layer

    @model_validator(mode="after")
    def _int_bits_fit(self) -> QuantizationSection:
        # int_bits above every width leaves no format in which the value range exists.
        for kind in ("activation", "weight"):
            widest = max(param_values(getattr(self, f"{kind}_bits")))
            for value in param_values(getattr(self, f"{kind}_int_bits")):
                if value > widest:
                    raise ValueError(
                        f"{kind}_int_bits {value} is above every {kind}_bits choice (at most {widest}); "
                        f"int bits (sign included) must be <= total bits"
                    )
        return self


class _HardwareBase(Strict):
    device: StrParam = "xc7s15"
    clock_mhz: Annotated[FloatParam, _bounded(0, None, integer=False, low_open=True)] = 100.0
    mcu_tail_layers: Annotated[IntParam, _bounded(0, MAX_HIDDEN_LAYERS + 1)] = 0
    mcu_head_layers: Annotated[IntParam, _bounded(0, MAX_HIDDEN_LAYERS + 1)] = 0  # first layers on the RP2040
    activity: float = Field(default=0.125, gt=0, le=1)

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: StrParam) -> StrParam:
        known = load_devices()
        for item in value.choices if isinstance(value, Choices) else [value]:
            if item not in known:
                raise ValueError(f"unknown device {item!r}; allowed: {', '.join(sorted(known))}")
        return value

    @model_validator(mode="after")
    def _clock_reachable(self) -> _HardwareBase:
        devices = load_devices()
        fastest = max(devices[name].max_clock_mhz for name in param_values(self.device))
        for value in param_values(self.clock_mhz):
            if value > fastest:
                raise ValueError(
                    f"clock_mhz {value} is above the fastest clock of the chosen device(s) ({fastest:g} MHz)"
                )
        return self


def _knob_field(knob: Knob) -> tuple[Any, Any]:
    """A search-file field for one folding knob: its type, default, alias and allowed values come from the knob."""

    def check(value: Any) -> Any:
        items = value.choices if isinstance(value, Choices) else [value]
        if isinstance(value, IntRange):
            items = [value.low]
        for item in items:
            if knob.is_int and (not isinstance(item, int) or isinstance(item, bool) or item < 1):
                raise ValueError(f"{knob.name} values must be integers >= 1, got {item!r}")
            if not knob.is_int and item not in knob.choices:
                raise ValueError(f"unknown {knob.name} {item!r}; allowed: {', '.join(knob.choices)}")
        return value

    def no_bool(value: Any) -> Any:
        # Lax validation would turn `pe: true` into 1 before `check` sees it.
        if knob.is_int and isinstance(value, bool):
            raise ValueError(f"{knob.name} values must be integers >= 1, got {value!r}")
        return value

    annotation = Annotated[IntParam if knob.is_int else StrParam, AfterValidator(check), BeforeValidator(no_bool)]
    alias = AliasChoices(knob.name, knob.alias) if knob.alias else None
    return annotation, Field(default=knob.default, validation_alias=alias, description=knob.doc)


# Each layer kind's part of the search-file schema: its folding knobs under `hardware`.
KIND_SCHEMAS: dict[str, dict[str, tuple[Any, Any]]] = {
    kind: {knob.name: _knob_field(knob) for knob in cls.KNOBS} for kind, cls in KINDS.items()
}
HardwareSection = create_model(
    "HardwareSection",
    __base__=_HardwareBase,
    **{name: spec for fields in KIND_SCHEMAS.values() for name, spec in fields.items()},
)


class TrainingSection(Strict):
    epochs: Annotated[IntParam, _bounded(0, MAX_EPOCHS)] = 10  # 0 only for a pretrained model (checked below)
    learning_rate: Annotated[FloatParam, _bounded(0, 10, integer=False, low_open=True)] = 0.01
    batch_size: Annotated[IntParam, _bounded(1, None)] = 64
    folds: int = Field(default=1, ge=1, le=20)  # k-fold cross-validation over train + val for the quality objective
    repeats: int = Field(default=1, ge=1, le=20)  # trainings per fold with different seeds, averaged


OBJECTIVES: dict[str, str] = {
    "accuracy": "maximize",
    "error": "minimize",
    "mse": "minimize",
    "latency_us": "minimize",
    "energy_uj": "minimize",
    "power_mw": "minimize",
    "lut": "minimize",
    "ff": "minimize",
    "dsp": "minimize",
    "bram": "minimize",
    "params": "minimize",
    "energy_per_period_uj": "minimize",  # needs an application section
}
QUALITY_OBJECTIVES = {"accuracy": "classification", "error": "classification", "mse": "regression"}


class Objective(Strict):
    name: Literal[tuple(OBJECTIVES)]  # type: ignore[valid-type]
    direction: Literal["minimize", "maximize"] | None = None

    @property
    def resolved_direction(self) -> str:
        return self.direction or OBJECTIVES[self.name]


class ApplicationSection(Strict):
    """How the deployed node is used: one request every period_ms, answered within deadline_ms."""

    period_ms: float = Field(gt=0, le=3_600_000)
    deadline_ms: float | None = Field(default=None, gt=0)  # default: the period
    power_budget_mw: float | None = Field(default=None, gt=0)  # average over a period
    strategy: Literal["auto", "idle", "off"] = "auto"  # between requests: FPGA idles, is powered off, or cheaper

    @model_validator(mode="after")
    def _deadline_in_period(self) -> ApplicationSection:
        if self.deadline_ms is not None and self.deadline_ms > self.period_ms:
            raise ValueError(f"deadline_ms {self.deadline_ms:g} is longer than period_ms {self.period_ms:g}")
        return self

    @property
    def deadline(self) -> float:
        return self.period_ms if self.deadline_ms is None else self.deadline_ms


class ConstraintsSection(Strict):
    fit_device: bool = True
    max_latency_us: float | None = Field(default=None, gt=0)
    max_power_mw: float | None = Field(default=None, gt=0)
    max_energy_uj: float | None = Field(default=None, gt=0)
    train_infeasible: bool = False


class SearchSection(Strict):
    sampler: Literal["nsga2", "tpe", "random", "gp"] = "nsga2"
    n_trials: int = Field(default=30, ge=1)
    timeout_s: float | None = Field(default=None, gt=0)
    storage: str | None = None
    population_size: int = Field(default=12, ge=2)
    max_failures: int = Field(default=10, ge=1)
    mode: Literal["joint", "model", "hardware"] = "joint"  # what is searched (docs/search-file.md)
    reuse_training: bool = True  # a network already trained (same layers, formats, training) is not trained again
    # two: every trained network's accelerators are searched by estimate (the default whenever trainings are reused)
    levels: Literal["flat", "two"] | None = None
    variants_per_model: int = Field(default=6, ge=1, le=64)  # two levels: accelerators queued per trained network

    @model_validator(mode="before")
    @classmethod
    def _default_levels(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("levels") is None:
            return data | {"levels": "flat" if data.get("reuse_training") is False else "two"}
        return data


MAX_RAY_WORKERS = 4096
LOCAL_WORKERS_PER_CORE = 2  # a local worker is a process that loads torch: more than this only waits for a core


class ExecutionSection(Strict):
    backend: Literal["local", "ray"] = "local"
    workers: int = Field(default=1, ge=1, le=MAX_RAY_WORKERS)
    address: str | None = None
    trial_timeout_s: float | None = Field(default=None, gt=0)
    max_retries: int = Field(default=1, ge=0)  # Ray: re-runs of a trial whose worker died

    @model_validator(mode="after")
    def _local_workers_fit_the_machine(self) -> ExecutionSection:
        cores = os.cpu_count() or 1
        if self.backend == "local" and self.workers > LOCAL_WORKERS_PER_CORE * cores:
            raise ValueError(
                f"workers {self.workers}: that many local worker processes on a machine with {cores} core(s) only "
                f"wait for a core; at most {LOCAL_WORKERS_PER_CORE * cores} here (backend: ray for a cluster)"
            )
        return self


def check_mcu_layers(hardware: Any, layers: int, network: str = "the network") -> None:
    """Refuse MCU head/tail layer counts above what ``network`` has. Every value counts, not just the smallest: a
    larger one would be capped, the same design under another name."""
    for name in ("mcu_head_layers", "mcu_tail_layers"):
        if (most := max(param_values(getattr(hardware, name)))) > layers:
            raise ValueError(f"hardware.{name}: {most} is more than {network} has layers (at most {layers})")


def searched_keys(section: BaseModel) -> list[str]:
    """Keys of a section given as a range or choices (what a search varies)."""
    return [name for name, value in section if isinstance(value, IntRange | FloatRange | Choices)]


class SearchConfig(Strict):
    study: StudySection
    dataset: DatasetSection
    model: ModelSection = Field(default_factory=MlpSection)
    quantization: QuantizationSection = Field(default_factory=QuantizationSection)
    hardware: HardwareSection = Field(default_factory=HardwareSection)  # type: ignore[valid-type]
    training: TrainingSection = Field(default_factory=TrainingSection)
    objectives: list[Objective] = Field(min_length=1)
    constraints: ConstraintsSection = Field(default_factory=ConstraintsSection)
    application: ApplicationSection | None = None
    search: SearchSection = Field(default_factory=SearchSection)
    execution: ExecutionSection = Field(default_factory=ExecutionSection)
    calibration: Path | None = None

    @model_validator(mode="after")
    def _consistent(self) -> SearchConfig:
        names = [o.name for o in self.objectives]
        if len(set(names)) != len(names):
            raise ValueError(f"objectives: each objective at most once, got {names}")
        if min(param_values(self.training.epochs)) < 1 and self.model.family != "pretrained":
            raise ValueError("training.epochs: values must be >= 1 (0, no training, is only for a pretrained model)")
        check_mcu_layers(self.hardware, self.model.max_layers())
        if self.quantization.per_layer and self.model.family in ("conv1d", "lstm"):
            raise ValueError(
                f"quantization.per_layer: supported for the mlp and pretrained families, not {self.model.family} yet"
            )
        if self.search.levels == "two" and not self.search.reuse_training:
            raise ValueError("search.levels: two needs search.reuse_training (queued accelerators reuse the training)")
        if self.search.mode != "joint":
            fixed_sections = ("hardware",) if self.search.mode == "model" else ("model", "quantization", "training")
            for section in fixed_sections:
                if searched := searched_keys(getattr(self, section)):
                    raise ValueError(
                        f"search.mode: {self.search.mode!r} keeps {section} fixed, but {section}.{searched[0]} is "
                        "a range or choices; give one value, or use mode joint"
                    )
        if "energy_per_period_uj" in names and self.application is None:
            raise ValueError("objectives: energy_per_period_uj needs an application section (period_ms, ...)")
        task = self.dataset.builtin_task
        for name in names:
            needed = QUALITY_OBJECTIVES.get(name)
            if needed and task and needed != task:
                raise ValueError(f"objectives: {name!r} needs a {needed} dataset, but dataset is {task}")
        return self

    @property
    def results_dir(self) -> Path:
        return self.study.results_dir or Path("results") / self.study.name


def _format_errors(error: ValidationError) -> str:
    lines = []
    for item in error.errors():
        loc = [str(part) for part in item["loc"]]
        # The family union's tag (model.conv1d.channels) is not a key the user wrote.
        loc = [part for i, part in enumerate(loc) if not (i == 1 and loc[0] == "model" and part in MODEL_FAMILIES)]
        path = ".".join(part for part in loc if part not in _PARAM_TAGS)
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (not allowed here)"
        lines.append(f"  {path}: {message}" if path else f"  {message}")  # top-level messages name their fields
    return "\n".join(dict.fromkeys(lines))


def parse_config(data: Any, source: str = "<search file>") -> SearchConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the search file must be a mapping of sections (study, dataset, ...)")
    try:
        return SearchConfig.model_validate(data)
    except ValidationError as error:
        raise ConfigError(f"{source} is not a valid search file:\n{_format_errors(error)}") from None


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (PyYAML would keep the last one silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (each key at most once)", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> Any:
    """A YAML file's data; unreadable, binary, invalid or duplicate-key files raise a ConfigError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text (UTF-8) file; a search file is YAML") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        return yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {str(error).replace('<unicode string>', str(path))}") from None


def load_config(path: Path) -> SearchConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"search file: {not_a_file(path)}")
    data = read_yaml(path)
    config = parse_config(data, str(path))
    return _resolve_paths(config, path.parent, str(path))


def _resolve_paths(config: SearchConfig, base: Path, source: str) -> SearchConfig:
    """``config`` with dataset.path and calibration made absolute, relative ones taken from ``base``.

    Relative paths in a search file mean its own folder, whatever the working directory: every later use (dataset
    loading, the estimator, the results snapshot) then sees the same file.
    """
    resolved: dict[str, Path | None] = {}
    model_path = config.model.path if isinstance(config.model, PretrainedSection) else None
    fields = (("dataset.path", config.dataset.path), ("calibration", config.calibration), ("model.path", model_path))
    for field_path, value in fields:
        absolute = None if value is None else (base / value).resolve()  # base / an absolute path = that path
        if absolute is not None and not absolute.is_file():
            raise ConfigError(f"{source}: {field_path}: {not_a_file(absolute, value)}")
        resolved[field_path] = absolute
    dataset = config.dataset.model_copy(update={"path": resolved["dataset.path"]})
    update: dict[str, Any] = {"dataset": dataset, "calibration": resolved["calibration"]}
    if isinstance(config.model, PretrainedSection):
        update["model"] = config.model.model_copy(update={"path": resolved["model.path"]})
    return config.model_copy(update=update)
