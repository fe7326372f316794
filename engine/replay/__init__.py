"""What-if replay: the recorded history of loans run again, in memory, through a candidate version and policy."""
