"""What a study trains: the scenario, its data set, each model's NetSpec and TrainConfig.

:func:`model_settings` turns one ``[[models]]`` entry of a scenario into the network
spec and training config that :func:`eventsim.train.train` takes (the model's own
:data:`MODEL_TRAIN_KEYS` over the ``[train]`` section); :func:`load_given_params`
reads the checkpoint file a model names instead of training it.
"""
from __future__ import annotations

import os

import numpy as np

from ..egru.init import DAMPENING, RESET, SUPPORT, THR_MEAN
from ..errors import EventsimError

# [train] keys a model may set for itself (None: the train section's value); the last
# three for an EGRU only (the scenario refuses them on a GRU/LSTM)
MODEL_TRAIN_KEYS = ("epochs", "loss", "lr", "activity_reg", "floor_reg", "floor_rate")


def load_study_scenario(scenario, overrides=()):
    """The scenario of a study: a path, a built-in name (None: "digits") or a
    :class:`~eventsim.scenario.Scenario`, with ``key=value`` overrides applied."""
    from ..scenario import Scenario, apply_overrides, load_scenario, scenario_from_dict
    if isinstance(scenario, Scenario):
        if overrides:
            return scenario_from_dict(apply_overrides(scenario.to_dict(), overrides), scenario.path)
        return scenario
    return load_scenario("digits" if scenario is None else scenario, overrides)


def default_out_dir(name: str) -> str:
    return os.path.join("results", name)


def load_data(sc):
    """The scenario's data set (its ``[data]`` table: the name and the loader options)."""
    from ..data import load_dataset
    return load_dataset(sc.data["name"], **{k: v for k, v in sc.data.items() if k != "name"})


def model_train_settings(sc, m: dict) -> dict:
    """The train section as model ``m`` of scenario ``sc`` trains with it: its own
    :data:`MODEL_TRAIN_KEYS`, where set, over ``sc.train`` (``loss`` may still be None:
    the task's default)."""
    t = dict(sc.train)
    own = MODEL_TRAIN_KEYS if m["kind"] == "egru" else MODEL_TRAIN_KEYS[:3]
    t.update({k: m[k] for k in own if m.get(k) is not None})
    return t


def model_epochs(sc, m: dict) -> int:
    """A model's training length: its own ``epochs`` or else ``train.epochs``."""
    return model_train_settings(sc, m)["epochs"]


def model_settings(sc, m: dict, ds):
    """(NetSpec, TrainConfig) of model ``m`` of scenario ``sc`` on data set ``ds``."""
    from ..scenario import allowed_losses
    from ..train import NetSpec, TrainConfig
    tokens = ds.input_kind == "tokens"
    egru = m["kind"] == "egru"
    emb = m.get("embedding_dim") or (min(64, ds.n_in) if tokens else 0)
    spec = NetSpec(kind=m["kind"], n_in=ds.n_in, units=list(m["units"]), n_out=ds.n_classes,
                   tokens=tokens, embed_dim=emb if tokens else 0,
                   reset=m.get("reset") or RESET,
                   dampening=m["dampening"] if egru and m.get("dampening") is not None else DAMPENING,
                   support=m["support"] if egru and m.get("support") is not None else SUPPORT,
                   **({"theta_x": float(m.get("theta_x") or 0.0), "theta_h": float(m.get("theta_h") or 0.0)}
                      if m["kind"] == "deltagru" else {}))
    t = model_train_settings(sc, m)
    loss = t.pop("loss", None) or ("lm" if ds.task == "lm" else "last")
    if (loss == "lm") != (ds.task == "lm"):
        raise EventsimError(f"scenario {sc.name!r}, model {m['name']!r}: loss {loss!r} does not fit data set "
                            f"{ds.name!r} (task {ds.task!r}); use 'lm' for language modelling, "
                            f"{allowed_losses('classify')} for classification")
    t["lr"] = float(t["lr"])
    t["loss"] = loss
    t["metric"] = ds.metric
    t["weight_density"] = float(m["weight_density"]) if m.get("weight_density") is not None else 1.0
    t["update_bias"] = float(m.get("update_bias") or 0.0)   # 0 for an LSTM (the scenario refuses others)
    if egru:
        t["train_thr"] = bool(m.get("train_thr", True))
        t["thr_mean"] = float(m["thr_mean"]) if m.get("thr_mean") is not None else THR_MEAN
        t["thr_jitter"] = float(m.get("thr_jitter") or 0.0)
        t["floor_unjittered"] = bool(m.get("floor_unjittered") or False)
    if m["kind"] == "deltagru":
        t["delta_penalty"] = float(m.get("delta_penalty") or 0.0)
    for key in [k for k, v in t.items() if v is None]:
        del t[key]
    return spec, TrainConfig.from_dict(t)


def resolve_checkpoint(sc, path: str) -> str:
    """A model's checkpoint path as given, or else relative to the scenario file."""
    if os.path.isabs(path) or os.path.exists(path) or not sc.path:
        return path
    alt = os.path.join(os.path.dirname(os.path.abspath(sc.path)), path)
    return alt if os.path.exists(alt) else path


def load_given_params(sc, m, spec) -> dict:
    """Parameters from the checkpoint file a scenario model names (a DeltaGRU's: a DeltaGRU
    or GRU weights file, or a DeltaGRU model file; its Θ are the scenario's)."""
    from ..egru.model import load_model
    from ..train import load_weights, params_from_model
    path = resolve_checkpoint(sc, m["checkpoint"])
    if spec.kind == "egru":
        model = load_model(path, dtype="float32")
        params = params_from_model(model)
        if model.reset != spec.reset:
            raise EventsimError(f"model {m['name']!r}: checkpoint {path!r} uses reset mode {model.reset!r} "
                                f"but the scenario says {spec.reset!r}")
    elif spec.kind == "deltagru" and _is_deltagru_model_file(path):
        from ..deltagru import load_deltagru
        from ..deltagru.model import deltagru_arrays
        params = {k: v for k, v in deltagru_arrays(load_deltagru(path, dtype="float32")).items()
                  if k != "meta" and not k.endswith((".theta_x", ".theta_h"))}
    else:
        lspec, params, _ = load_weights(path)
        if lspec.kind != spec.kind and not (spec.kind == "deltagru" and lspec.kind == "gru"):
            raise EventsimError(f"model {m['name']!r}: checkpoint {path!r} holds a {lspec.kind}, "
                                f"the scenario says {spec.kind}")
    _check_fits(m, path, spec, params)
    return {k: np.asarray(v, dtype=np.float32) for k, v in params.items()}


def _is_deltagru_model_file(path) -> bool:
    """Is ``path`` a DeltaGRU model file (``save_deltagru``: arrays ``layer{k}.theta_x``)?"""
    try:
        with np.load(path, allow_pickle=False) as z:
            return "layer0.theta_x" in z.files
    except Exception:
        return False     # load_weights names the problem


def _check_fits(m, path, spec, params) -> None:
    """Refuse checkpoint parameters whose names or shapes differ from the scenario model's."""
    from ..train.network import init_params
    want = init_params(spec, 0)
    for k, v in want.items():
        if k not in params or params[k].shape != v.shape:
            got = params[k].shape if k in params else "missing"
            raise EventsimError(f"model {m['name']!r}: checkpoint {path!r} does not fit the scenario "
                                f"and data: {k} is {got}, expected {v.shape} (units {spec.units}, "
                                f"{spec.n_in} inputs, {spec.n_out} outputs)")
    if set(params) != set(want):
        raise EventsimError(f"model {m['name']!r}: checkpoint {path!r} has keys "
                            f"{sorted(set(params) ^ set(want))} that the scenario's model does not")
