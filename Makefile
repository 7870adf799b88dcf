# The portfolio's entry points. Each project has its own Makefile; these targets
# delegate to kafka-utils, the first (and so far only) project.

PROJECTS := kafka-utils

.PHONY: setup demo test bench docs clean

setup demo test bench docs clean:
	@for project in $(PROJECTS); do $(MAKE) -C $$project $@ || exit 1; done
