"""A loop with a pipeline to tune, written as users write one: a plain map, a batch, and a prefetch on a
line of its own inside a chain. Prints the sum of everything it read, which no tuning may change."""
import tensorflow as tf


def double(x):
    return x * 2


dataset = tf.data.Dataset.range(2000)
dataset = dataset.map(double)
dataset = dataset.batch(4)
dataset = (dataset
           .prefetch(2))
total = 0
for batch in dataset:
    total += int(tf.reduce_sum(batch))
print(f"total: {total}")
