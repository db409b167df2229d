"""Writes examples/quickstart.ipynb and examples/assignment.ipynb (outputs stripped): python examples/make_notebooks.py"""
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

md, code = new_markdown_cell, new_code_cell

quickstart = new_notebook(cells=[
    md("# genlab quickstart\n\nTrain a small DCGAN on the built-in handwritten digits, watch it learn, sample, score it against "
       "the real digits, compare two losses, and reconstruct cartoon faces with a VAE. Everything runs on a CPU in about a minute; "
       "on a GPU pass `device=\"cuda\"`."),
    code("import os\nfrom pathlib import Path\n\nimport genlab\n\n"
         "OUT = Path(os.environ.get(\"GENLAB_EXAMPLES_OUT\", \"quickstart-runs\"))  # where the runs go\n"
         "SMALL = dict(data=\"builtin\", image_size=16, width=16, z_dim=32, limit=512, batch_size=32, grid_size=64, device=\"cpu\")"),
    md("## Train\n\n`genlab.train` takes the family, the run folder and any setting by its flat name (the same names as the "
       "command line's flags and the TOML files). The run folder holds the config, the history, grids, curves, checkpoints "
       "and a report page; interrupt the cell and `genlab.train(resume=run.path)` continues it."),
    code("run = genlab.train(\"dcgan\", out=OUT / \"gan\", preset=\"smoke\", loss=\"gan\", epochs=4, **SMALL)\nrun"),
    md("## Watch the curves\n\n`run.history` is one row per step (`run.history.to_pandas()` gives a DataFrame when pandas is installed)."),
    code("import matplotlib.pyplot as plt\n\n"
         "steps = run.history.column(\"step\")\n"
         "plt.plot(run.history.column(\"d_loss\"), label=\"discriminator\")\n"
         "plt.plot(run.history.column(\"g_loss\"), label=\"generator\")\n"
         "plt.xlabel(\"step\"); plt.legend(); plt.show()"),
    md("## Sample a grid\n\nModels return uint8 images `(N, 3, H, W)`; `genlab.grid` makes one picture of them."),
    code("images = run.model.sample(64, seed=0)\nprint(images.shape, images.dtype)\ngenlab.grid(images)"),
    md("## Score it against the real digits\n\nThe built-in network works offline; `network=\"tf-inception\"` gives the numbers papers report."),
    code("result = genlab.evaluate(run, metrics=(\"is\", \"kid\"), network=\"builtin\", n=500, reference=\"builtin-test\", kid_subset_size=100)\nresult"),
    code("real = genlab.evaluate(\"builtin-test\", metrics=(\"is\",), network=\"builtin\", n=500)\n"
         "print(f\"generated {result.metrics['is_mean']:.2f}, real digits {real.metrics['is_mean']:.2f}\")"),
    md("## Compare two losses"),
    code("genlab.train(\"dcgan\", out=OUT / \"lsgan\", preset=\"smoke\", loss=\"lsgan\", epochs=4, **SMALL)\n"
         "genlab.runs(OUT)"),
    md("## A VAE on cartoon faces\n\nThe demo (`genlab demo`) trains one; without it, a small one is trained here. "
       "`reconstruct` sends faces through the encoder and decoder."),
    code("from genlab.data.builtin import drawn_images\n\n"
         "demo_vae = Path(\"genlab-demo\") / \"vae-toonfaces\"\n"
         "vae = genlab.load(demo_vae) if demo_vae.is_dir() else genlab.train(\n"
         "    \"vae\", out=OUT / \"vae\", preset=\"smoke\", data=\"toonfaces\", limit=256, epochs=1, device=\"cpu\")\n"
         "size = vae.config.image_size\n"
         "faces = drawn_images(\"toonfaces\", \"test\", size, data_root=vae.config.input.data_root, count=8).images\n"
         "genlab.grid(__import__(\"torch\").cat([faces, vae.model.reconstruct(faces)]), nrow=8)"),
])

assignment = new_notebook(cells=[
    md("# The GAN homework with genlab\n\nFour DCGAN losses (GAN, LSGAN, WGAN, WGAN-GP) on CIFAR-10 with the assignment's "
       "settings, scored with the assignment's Inception Score protocol, and the hand-in folder. On Colab choose a GPU "
       "runtime first (Runtime > Change runtime type)."),
    code("# install genlab (on Colab: the first cell; upload or copy the genlab folder first)\n%pip install --quiet -e ./genlab"),
    code("import genlab\n\nSETTINGS = dict(preset=\"assignment\", data=\"cifar10\", device=\"cuda\")  # 200 epochs each; epochs=20 for a first look"),
    md("## Train the four losses\n\nOne process trains them all; each run is an ordinary folder with its report page."),
    code("runs = genlab.sweep([\"gan\", \"lsgan\", \"wgan\", \"wgan-gp\"], [0], out=\"runs/homework\", **SETTINGS)\nruns"),
    md("## Samples"),
    code("for run in runs:\n    display(run)\n    display(genlab.grid(run.model.sample(64, seed=0)))"),
    md("## Inception Score (the assignment's protocol: torchvision's Inception v3, 1,000 samples, one split)"),
    code("for run in runs:\n"
         "    score = genlab.evaluate(run, protocol_name=\"assignment\", device=\"cuda\")\n"
         "    print(run.path.name, round(score.metrics[\"is_mean\"], 3))"),
    md("## The hand-in folder\n\n`genlab report runs/homework/*/ --assignment --out hand-in` writes the results folder and "
       "`inception_score.txt` as the assignment asks."),
    code("!genlab report runs/homework/*/ --assignment --out hand-in"),
])

for notebook in (quickstart, assignment):
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbformat.write(quickstart, "examples/quickstart.ipynb")
nbformat.write(assignment, "examples/assignment.ipynb")
