"""Studies: train the models of a scenario side by side, measure them with the event engine.

- :mod:`.settings`: scenario → each model's NetSpec/TrainConfig, checkpoint loading;
- :mod:`.run`: :func:`run_study` (the pipeline of ``eventsim study``) and the evaluation;
- :mod:`.parallel`: training the models in worker processes (``--jobs``);
- :mod:`.summary`: the summary entries, silent units, intervals and paired tests;
- :mod:`.tables`: the summary as text, Markdown and CSV, and the uncertainty sentences.
- :mod:`.seeds`: a study over several seeds (one study per seed, means and spreads);
- :mod:`.delta`: a DeltaGRU row converted from the study's GRU, Θ picked on validation.

Nothing here draws a figure or writes the report (:mod:`eventsim.plots.report`, which
reads this package's tables; ``eventsim study`` calls it after the study).
"""
from .run import LM_TOLERANCE, PREDICTION_TOLERANCE, dense_counts, evaluate_model, run_study
from .settings import (MODEL_TRAIN_KEYS, default_out_dir, load_data, load_given_params, load_study_scenario,
                       model_epochs, model_settings, model_train_settings)
from .summary import compare_to_gru, metric_interval, silent_units
from .tables import (COLUMNS, silent_units_text, summary_csv, summary_markdown, summary_table,
                     uncertainty_lines)

__all__ = ["COLUMNS", "LM_TOLERANCE", "MODEL_TRAIN_KEYS", "PREDICTION_TOLERANCE", "compare_to_gru",
           "default_out_dir", "dense_counts", "evaluate_model", "load_data", "load_given_params",
           "load_study_scenario", "metric_interval", "model_epochs", "model_settings",
           "model_train_settings", "run_study", "silent_units", "silent_units_text", "summary_csv",
           "summary_markdown", "summary_table", "uncertainty_lines"]
