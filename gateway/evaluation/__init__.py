"""Offline evaluation of detectors on labelled recordings (SisFall, UMAFall, later traces).

The loaders turn each dataset's file layout into `Recording` objects (sensor time, samples
in g, the activity, whether it is a fall, the labelled fall onset when known); the runner
feeds them to a detector exactly as the gateway would, in blocks; the metrics module turns
the detections into per-file outcomes and the figures the issue asks for.
"""
