"""A custom loop over a dataset distributed with tf.distribute (MirroredStrategy on this machine's devices)."""
import tensorflow as tf

strategy = tf.distribute.MirroredStrategy()
dataset = tf.data.Dataset.range(256).map(lambda i: tf.cast(i, tf.float32)).batch(16)
distributed = strategy.experimental_distribute_dataset(dataset)
total = 0.0
for batch in distributed:
    total += float(strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(tf.reduce_sum, args=(batch,)), axis=None))
print("total", total)
