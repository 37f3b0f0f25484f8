# make up    set-up + the main job: the embedded lab, then the engine's preview and up of the lab stack
# make test  set-up + the whole test suite: the lab end to end in two labs side by side, the not-lab part beside them
# make down  stop the lab and remove everything it created
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LAB_DIR ?= /var/tmp/proxmox-ha-lab
# The lab stack's passphrase (documented in the README); real stacks take theirs from the environment.
LAB_PASSPHRASE := proxmox-ha-lab

.PHONY: up test down setup venv tools packages lab-up deploy

setup: venv tools packages

venv: $(VENV)/.installed
$(VENV)/.installed: requirements.txt
	@echo "[setup] Python venv with requirements.txt"
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt
	touch $@

tools:
	@tools/toolchain.sh build

packages: venv
	@echo "[setup] Debian packages for the lab and promtool"
	$(PY) -m lab install
	monitoring/install-promtool.sh
	@# The tests lint ops/config-backup's script with it.
	@command -v shellcheck >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q shellcheck; }

# The lab's stack file: Pulumi.lab.yaml plus host keys and secrets, written outside the repo.
lab-up: setup
	$(PY) -m lab up
	$(PY) -m lab stack-config Pulumi.lab.yaml

deploy: lab-up
	@# The lab's stand-in plugins, where the released ones are not installed (they serve only the lab stack).
	PROXMOX_HA_STAND_INS=lab PULUMI_CONFIG_PASSPHRASE=$(LAB_PASSPHRASE) $(PY) -m deploy up --stack lab --config-file $(LAB_DIR)/Pulumi.lab.yaml

up: deploy
	@# The new Prometheus scrapes within seconds; the status shows every target up then.
	@$(PY) -m lab wait targets --timeout 60
	@$(PY) -m lab status

# Three parts at once, each serial: two labs side by side (lab/common.py's slots), and the tests that need no lab
# beside them, in the CPU the labs leave idle while they wait on daemons. Slot 0 runs the tests that share one
# cluster, in the order tests/e2e/conftest.py gives them; slot 1 those that build a lab of their own shape (marker
# own_lab). The other two parts' reports are printed after slot 0's. Every part runs whatever the others did; the
# target fails with the first failing part's exit code.
ALONE_LOG := /var/tmp/proxmox-ha-no-lab.pytest.log
BESIDE_LOG := /var/tmp/proxmox-ha-lab-1.pytest.log
test: setup
	status=0; \
	$(PY) -m pytest -m "not lab" -p no:cacheprovider > $(ALONE_LOG) 2>&1 & alone=$$!; \
	PROXMOX_HA_LAB_SLOT=1 $(PY) -m pytest -m "lab and own_lab" -p no:cacheprovider > $(BESIDE_LOG) 2>&1 & beside=$$!; \
	$(PY) -m pytest -m "lab and not own_lab" || status=$$?; \
	wait $$alone || { [ $$status -ne 0 ] || status=$$?; }; \
	wait $$beside || { [ $$status -ne 0 ] || status=$$?; }; \
	echo "[the tests that need no lab]"; cat $(ALONE_LOG); \
	echo "[slot 1: the tests with a lab of their own]"; cat $(BESIDE_LOG); \
	exit $$status

down:
	$(PY) -m lab down
	PROXMOX_HA_LAB_SLOT=1 $(PY) -m lab down
