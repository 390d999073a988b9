"""A loop that writes down what it was given: the first example of every batch, epoch by epoch. With
--py-function its map runs Python (tf.py_function), which cannot be checkpointed."""
import argparse
import json

import tensorflow as tf

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
parser.add_argument("--py-function", action="store_true")
parser.add_argument("--report", required=True)
args = parser.parse_args()


def double(index):
    return index * 2


def double_in_python(index):
    return tf.py_function(lambda value: value * 2, [index], tf.int64)


dataset = tf.data.Dataset.range(64).map(double_in_python if args.py_function else double).batch(4).prefetch(1)
seen = []
for epoch in range(args.epochs):
    seen.append([int(batch[0]) for batch in dataset])
with open(args.report, "w") as report:
    json.dump(seen, report)
