"""Abuse: policy violations (egress and limit refusals of casts, refused publishes, rate-limit storms),
automatic suspension of a spell or user past a threshold, and reinstatement by an operator."""
