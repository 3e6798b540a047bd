module testbed/link-delay

go 1.19
