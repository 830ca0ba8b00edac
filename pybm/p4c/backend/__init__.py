"""BMv2 JSON and P4Info back ends."""
