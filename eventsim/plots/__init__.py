"""Figures and the study report (matplotlib, Agg canvas, no display needed).

- :mod:`.raster`: activity rasters (events of every layer over time);
- :mod:`.sparsity`: activity / backward sparsity over steps and epochs, event-rate histograms;
- :mod:`.savings`: MAC bars against the dense GRU/LSTM baselines, sweep trade-off curves;
- :mod:`.report`: one self-contained HTML page (and a Markdown twin) for a study folder;
- :mod:`.style`: the common look.

Every ``*_figure`` function returns a :class:`matplotlib.figure.Figure`; write it with
:func:`eventsim.plots.style.save`. See ``docs/analysis.md``.
"""
