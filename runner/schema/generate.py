"""JSON Schemas (draft 2020-12) of the three module spec generations and the pipeline YAML, for
editors (VS Code's YAML extension, PyCharm).

Built from the loaders' own tables: their known keys, type names, job types, return-code
rules, launchers, distributions and name patterns are imported from the loader modules, so a
key or a type a loader learns is in the schema too (`tests/schema` checks every key set a
loader reads against the schema). What the schema says about shapes (required keys, lists
versus mappings, exclusive pairs) mirrors the loaders' structural errors; what needs the
files (conda files, code folders, placeholders naming inputs) is `runner validate`'s alone:
the loader stays the authority, and an editor's schema is a first look.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from runner.pipeline import load as pipeline_load
from runner.spec import cliv2, component2, legacy, legacy_impl
from runner.spec.model import JobType, ParamType, ReturnCodeRule
from runner.spec.names import V2_COMPONENT_PATTERN
from runner.spec.resources import EXTENSION_KEYS

DRAFT = "https://json-schema.org/draft/2020-12/schema"
KINDS = ("legacy", "component2", "cliv2", "pipeline")
TITLES = {
    "legacy": "runner: legacy module spec (amlModuleIdentifier)",
    "component2": "runner: component 2.0 spec (CommandComponent.json)",
    "cliv2": "runner: CLI v2 command component (type: command)",
    "pipeline": "runner: CLI v2 pipeline job (type: pipeline)",
}
Schema = dict[str, object]

TEXT: Schema = {"type": "string"}
SCALAR: Schema = {"type": ["string", "number", "boolean"]}
OPTIONAL_SCALAR: Schema = {"type": ["string", "number", "boolean", "null"]}
FLAG: Schema = {"type": ["boolean", "string"]}  # true, or "True" as real specs write it
STRINGS: Schema = {"type": "array", "items": TEXT}
TYPES: Schema = {"anyOf": [TEXT, STRINGS]}  # a port may take any of several data types
IDENTIFIER = "^[A-Za-z_][A-Za-z0-9_]*$"
INTEGER: Schema = {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^[+-]?[0-9]+$"}]}
ANY: Schema = {}


def schema(kind: str) -> Schema:
    built = {"legacy": _legacy, "component2": _component2, "cliv2": _cliv2,
             "pipeline": _pipeline}[kind]()  # fmt: skip
    return {"$schema": DRAFT, "$id": f"runner-{kind}.schema.json", "title": TITLES[kind], **built}


# ---- building blocks ----------------------------------------------------------------------


def anycase(words: Iterable[str], suffix: str = "") -> str:
    """A pattern matching any of `words` in any case (the loaders fold case; ECMA regexes,
    which editors use, have no inline flag)."""

    def letters(word: str) -> str:
        return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else _escape(c) for c in word)

    return "^(" + "|".join(letters(word) for word in sorted(words)) + ")" + suffix + "$"


def _escape(char: str) -> str:
    return "\\" + char if char in ".^$*+?()[]{}|\\/-" else char


def obj(
    keys: Iterable[str], known: Mapping[str, object] | None = None, required: Sequence[str] = ()
) -> Schema:
    """A mapping of the loader's known `keys` (unknown ones are warned about, not refused)."""
    known = known or {}
    made: Schema = {"type": "object", "properties": {key: known.get(key, ANY) for key in keys}}
    if required:
        made["required"] = list(required)
    return made


def not_both(*pairs: tuple[str, str]) -> Schema:
    return {"not": {"anyOf": [{"required": list(pair)} for pair in pairs]}}


def when(key: str, pattern: str, then: Schema) -> Schema:
    return {"if": {"properties": {key: {"type": "string", "pattern": pattern}}, "required": [key]},
            "then": then}  # fmt: skip


def map_of(value: Schema) -> Schema:
    return {"type": "object", "additionalProperties": value}


# ---- legacy -------------------------------------------------------------------------------


def _legacy() -> Schema:
    placeholder = {"type": "object", "minProperties": 1, "maxProperties": 1,
                   "propertyNames": {"enum": sorted(legacy_impl._PLACEHOLDERS)},
                   "additionalProperties": TEXT}  # fmt: skip
    # A word, a placeholder, or a list of them: an optional group (left out when an optional
    # input or parameter in it has no value).
    word = {"anyOf": [SCALAR, placeholder, {"type": "array", "items": {"$ref": "#/$defs/word"}}]}
    words = {"type": "array", "items": {"$ref": "#/$defs/word"}}
    aml_env = obj(("docker", "python", "name", "version"), {
        "docker": obj(("baseImage", "enabled", "arguments")),
        "python": obj(("condaDependencies", "condaDependenciesFile", "pipRequirementsFile")),
    })  # fmt: skip
    literal_words = {"type": "array", "items": SCALAR}  # a command has no placeholders
    section_known = {"command": literal_words, "args": words, "amlEnvironment": aml_env,
                     "image": TEXT, "additionalIncludes": STRINGS,
                     "sourceDirectory": TEXT}  # fmt: skip
    sections = {
        kind: {**obj(keys, section_known), **not_both(("image", "amlEnvironment"))}
        for kind, keys in legacy_impl._SECTION_KEYS.items()
    }
    sections["container"]["required"] = ["command"]
    implementation = {
        **obj((*legacy_impl._KINDS, "os"),
              {**sections, "os": {"pattern": anycase(("linux", "windows"))}}),
        "anyOf": [{"required": [kind]} for kind in legacy_impl._KINDS],
        **not_both(*_pairs(legacy_impl._KINDS)),
    }  # fmt: skip
    option = {"anyOf": [SCALAR, {"type": "object", "minProperties": 1, "maxProperties": 1}]}
    item = {
        **obj(legacy._INPUT_KEYS, {"name": TEXT, "type": TYPES, "optional": FLAG,
                                   "options": {"type": "array", "items": option},
                                   "argumentName": {"type": "string", "pattern": IDENTIFIER}},
              required=("name", "type")),
        "allOf": _typed_checks(legacy._PARAM_TYPES, "options"),
    }  # fmt: skip
    output = obj(legacy._OUTPUT_KEYS, {"name": TEXT, "type": TEXT}, required=("name", "type"))
    ident = obj(("namespace", "moduleName", "moduleVersion"),
                {"moduleName": TEXT, "namespace": TEXT, "moduleVersion": SCALAR},
                required=("moduleName",))  # fmt: skip
    known = {
        "amlModuleIdentifier": ident,
        "jobType": {"type": "string", "pattern": anycase(job.value for job in JobType)},
        "isDeterministic": FLAG,
        "inputs": {"type": "array", "items": item},
        "outputs": {"type": "array", "items": output},
        "implementation": implementation,
        "description": TEXT,
        "metadata": obj(("annotations",)),
    }
    made = obj(legacy._TOP_KEYS, known, required=("amlModuleIdentifier", "implementation"))
    made["$defs"] = {"word": word}
    # The jobType names the implementation section it runs (basic and mpi: container).
    kinds = {job: legacy_impl._KIND_OF_JOB[job] for job in JobType}
    special = [job.value for job in JobType if kinds[job] != "container"]
    made["allOf"] = [
        when("jobType", anycase((job.value,)),
             {"properties": {"implementation": {"required": [kinds[job]]}}})
        for job in JobType if kinds[job] != "container"
    ] + [{
        "if": {"properties": {"jobType": {"type": "string", "pattern": anycase(special)}},
               "required": ["jobType"]},
        "else": {"properties": {"implementation": {"required": ["container"]}}},
    }]  # fmt: skip
    return made


def _pairs(items: Sequence[str]) -> list[tuple[str, str]]:
    return [(a, b) for index, a in enumerate(items) for b in items[index + 1 :]]


# ---- component 2.0 and CLI v2: the map-style interface -------------------------------------


def _interface(style_types: Mapping[str, object] | Iterable[str], input_keys: Iterable[str],
               output_keys: Iterable[str], enum_key: str,
               param_types: Mapping[str, ParamType]) -> tuple[Schema, Schema]:  # fmt: skip
    one_input = {**obj(input_keys, {"type": TEXT, "optional": FLAG,
                                    enum_key: {"type": "array", "items": SCALAR}},
                       required=("type",)),
                 "allOf": _typed_checks(param_types, enum_key)}  # fmt: skip
    return map_of(one_input), map_of(obj(output_keys, {"type": TEXT}))


def _typed_checks(param_types: Mapping[str, ParamType], enum_key: str) -> list[Schema]:
    """What a parameter's type asks of it: an enum lists its values, an integer default is an
    integer, a boolean default true or false."""

    def names(kind: ParamType) -> list[str]:
        return [name for name, found in param_types.items() if found is kind]

    checks = []
    if names(ParamType.ENUM):
        checks.append(when("type", anycase(names(ParamType.ENUM)), {"required": [enum_key]}))
    boolean = {"anyOf": [{"type": "boolean"},
                         {"type": "string", "pattern": anycase(("true", "false"))}]}  # fmt: skip
    for kind, default in ((ParamType.INTEGER, INTEGER), (ParamType.BOOLEAN, boolean)):
        if names(kind):
            checks.append(when("type", anycase(names(kind)), {"properties": {"default": default}}))
    return checks


def _component2() -> Schema:
    style = component2.STYLE
    inputs, outputs = _interface(
        style.param_types, style.input_keys, style.output_keys, "enum", style.param_types
    )
    docker = {**obj(("image", "baseImage", "enabled")), **not_both(("image", "baseImage"))}
    environment = obj(("docker", "conda", "os", "name", "version"), {
        "docker": docker,
        "conda": obj(("conda_dependencies", "conda_dependencies_file", "pipRequirementsFile",
                      "pip_requirements_file")),
        "os": {"type": "string", "pattern": anycase(("linux", "windows"))},
    })  # fmt: skip
    types = component2._TYPES
    known = {
        "$schema": TEXT, "name": TEXT, "version": SCALAR, "display_name": TEXT,
        "type": {"type": "string", "pattern": anycase(types, suffix="(@.*)?")},
        "is_deterministic": FLAG,
        "successful_return_code": {
            "type": "string", "pattern": anycase(rule.value for rule in ReturnCodeRule)},
        "inputs": inputs, "outputs": outputs, "command": TEXT, "code": TEXT,
        "environment": environment,
        "environment_variables": map_of(OPTIONAL_SCALAR),
        "launcher": obj(("type", "additional_arguments"),
                        {"type": {"enum": list(component2._LAUNCHERS)}}, required=("type",)),
        "parallel": obj(("input_data", "output_data", "entry", "args", "mini_batch_size",
                         "error_threshold"), required=("entry",)),
        "additional_includes": STRINGS,
    }  # fmt: skip
    command_kinds = anycase(
        (k for k, job in types.items() if job in (JobType.BASIC, JobType.MPI)), "(@.*)?"
    )
    parallel_kind = anycase((k for k, job in types.items() if job is JobType.PARALLEL), "(@.*)?")
    made = obj(component2._TOP_KEYS, known, required=("name", "type"))
    made["allOf"] = [when("type", command_kinds, {"required": ["command"]}),
                     when("type", parallel_kind, {"required": ["parallel"]})]  # fmt: skip
    return made


def _cliv2() -> Schema:
    style = cliv2.STYLE
    port_types = sorted(style.port_types or ())
    inputs, outputs = _interface([*style.param_types, *port_types], style.input_keys,
                                 style.output_keys, "enum", style.param_types)  # fmt: skip
    build = obj(("path", "dockerfile_path"), {"path": TEXT}, required=("path",))
    inline = {
        **obj(("image", "conda_file", "build", "name", "version", "description", "tags",
               "os_type", "inference_config"), {"image": TEXT, "build": build}),
        **not_both(("image", "build")),
        "anyOf": [{"required": ["image"]}, {"required": ["build"]}],
    }  # fmt: skip
    distributions = cliv2._DISTRIBUTIONS
    distribution = {
        **obj(("type", *sorted(set(distributions.values())), "parameter_server_count"),
              {"type": {"enum": sorted(distributions)}}, required=("type",)),
    }  # fmt: skip
    # The service's keys, and runner's extension (cpus, memory, gpus, custom).
    resources = obj(("instance_count", "instance_type", "shm_size", "docker_args", "gpu_count",
                     "properties", "locations", *EXTENSION_KEYS),
                    {"instance_count": {"type": "integer", "minimum": 1},
                     "gpu_count": {"type": "integer", "minimum": 0},
                     "gpus": {"type": "integer", "minimum": 0},
                     "cpus": {"type": "number", "exclusiveMinimum": 0},
                     "memory": {"type": ["integer", "string"]},
                     "custom": {"type": "object",
                                "additionalProperties": {"type": "number"}}})  # fmt: skip
    known = {
        "$schema": TEXT, "type": {"const": "command"},
        "name": {"type": "string", "pattern": f"^{V2_COMPONENT_PATTERN}$"},
        "version": SCALAR, "display_name": TEXT, "description": TEXT,
        "is_deterministic": FLAG, "inputs": inputs, "outputs": outputs,
        "command": TEXT,
        "code": {"type": "string", "not": {"pattern": "^azureml:"}},  # local code only
        # A registered environment: azureml:<name>:<version>, azureml:<name>@latest, a URI.
        "environment": {"anyOf": [{"type": "string", "pattern": "^azureml:"}, inline]},
        "additional_includes": STRINGS,
        "environment_variables": {
            **map_of(SCALAR), "propertyNames": {"pattern": IDENTIFIER}},
        "resources": resources,
        "distribution": distribution,
    }  # fmt: skip
    return obj(cliv2._TOP_KEYS, known, required=("type", "name", "command"))


# ---- pipelines ----------------------------------------------------------------------------


def _pipeline() -> Schema:
    step = obj(pipeline_load._STEP_KEYS, {
        "type": {"enum": list(pipeline_load._STEP_TYPES)},
        "component": {"anyOf": [TEXT, {"type": "object"}]},
        "inputs": map_of(ANY), "outputs": map_of(ANY),
        "environment_variables": map_of(SCALAR),
    }, required=("component",))  # fmt: skip
    known = {
        "$schema": TEXT, "type": {"const": "pipeline"}, "display_name": TEXT,
        "inputs": map_of({"anyOf": [SCALAR, obj(("type", "path", "mode", "description",
                                                  "optional", "default"))]}),
        "outputs": map_of({"anyOf": [TEXT, obj(pipeline_load._OUTPUT_KEYS)]}),
        "jobs": {**map_of(step), "minProperties": 1},
    }  # fmt: skip
    return obj(pipeline_load._TOP_KEYS, known, required=("type", "jobs"))
