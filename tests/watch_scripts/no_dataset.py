"""A script that trains without tf.data: nothing for Pipescope to profile."""
import sys

total = sum(range(1000))
print("total", total)
sys.exit(3 if "--fail" in sys.argv else 0)
