"""Figure of one generated N-MNIST-style sample (docs/figures/nmnist5k_sample.png).

ON (green) and OFF (red) event counts of the first training digit at full resolution
(downsample=1, N-MNIST's 34x34 sensor) at six of its 30 steps: saccade 1 (up-right,
t = 0-9), 2 (down-right, t = 10-19), 3 (left, t = 20-29). Leading edges fire ON and
trailing edges OFF; during the horizontal third saccade only vertical edges fire.

Usage: python analysis/plot_nmnist_sample.py
"""
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from eventsim.data import load_dataset  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "figures",
                   "nmnist5k_sample.png")


def main():
    ds = load_dataset("nmnist5k", limit=1, downsample=1)
    h = ds.info["sensor_shape"][0]
    x = ds.train.x[0].reshape(ds.train.n_steps, 2, h, h)
    steps = [0, 5, 10, 15, 20, 25]
    fig, axes = plt.subplots(2, len(steps), figsize=(1.7 * len(steps), 3.8))
    for j, t in enumerate(steps):
        for pol, cmap, name in ((0, "Greens", "ON"), (1, "Reds", "OFF")):
            ax = axes[pol, j]
            ax.imshow(x[t, pol], cmap=cmap, vmin=0, vmax=max(1.0, float(x[:, pol].max())))
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(f"{name}, step {t}", fontsize=9)
    fig.suptitle(f"nmnist5k: generated events of one digit (label {int(ds.train.y[0])}), "
                 f"{int(x.sum())} events in {ds.train.n_steps} steps", fontsize=10)
    fig.tight_layout()
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    fig.savefig(OUT, dpi=80)
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
