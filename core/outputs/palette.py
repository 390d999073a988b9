"""The colours of the timeline plots, shared by the app and timeline.png so both look alike."""
WAIT_COLOR = (230, 120, 40)
COMPUTE_COLOR = (60, 120, 220)
TRANSFER_COLOR = (150, 80, 190)
WARMUP_COLOR = (150, 150, 150)
BUSY_COLOR = (70, 170, 90)
IDLE_COLOR = (220, 50, 50)
EMPTY_COLOR = (255, 255, 255)
CAPACITY_COLOR = (120, 120, 120)
CHANGE_COLOR = (140, 60, 200)
# One colour per run where runs are drawn together (compare.png): the first run, the baseline, is blue.
RUN_COLORS = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
              (227, 119, 194), (23, 190, 207))
