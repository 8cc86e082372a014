"""Offline evaluation of detectors on labelled recordings (SisFall, UMAFall, later traces).

The loaders turn each dataset's file layout into `Recording` objects (sensor time, samples
in g, the activity, whether it is a fall, the labelled fall onset when known); the runner
feeds them in blocks through the gateway's own Pipeline (the daemon's detectors, fusion
and alarm flow) and scores the events; the metrics module turns the outcomes into the
figures; episodes + crossval choose settings held out by subject or by data set.
"""
