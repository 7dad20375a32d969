"""Published power measurements behind the energy presets (docs/model.md "Energy presets"), each number with
where it was read. A number that could not be read from a source text is not here (left 0: no energy).

The radio models are AT&T ARO's defaults (github.com/attdevsupport/ARO, ARODataAnalyzer/src/lte.conf,
WiFi.conf, and its profile factory's energy rules), the tool of the group of Huang et al., "A Close
Examination of Performance and Power Characteristics of 4G LTE Networks" (MobiSys 2012), whose LTE power
model (their Table 3: power linear in uplink and downlink throughput plus a base power, and the tail) ARO
implements. The paper's own Table 3 could not be read from a stored text here; ARO's files could.
"""
from __future__ import annotations

MW_PER_MBPS = 1e-9  # 1 mW per Mbit/s is 1e-3 W / 1e6 bit/s = 1e-9 J/bit

# LTE (ARO lte.conf): LTE_ALPHA_UP 438.39 and LTE_ALPHA_DOWN 51.97 mW/Mbps, LTE_BETA 1.2 W (ARO rounds the
# base power), P_PROMOTION 1.21 W for T_PROMOTION 0.26 s, P_TAIL 1.06 W over the tail INACTIVITY_TIMER 0.1 s +
# T_SHORT_DRX 0.02 s + T_LONG_DRX 10 s.
LTE_PROMOTION_J = 0.26 * 1.21
LTE_TAIL_J = (0.1 + 0.02 + 10.0) * 1.06
LTE_SEND = {"energy_per_bit_j": 438.39 * MW_PER_MBPS, "power_w": 1.2,
            "energy_per_transfer_j": LTE_PROMOTION_J + LTE_TAIL_J}
# The answer comes back within the request's tail (seconds of it left): its promotion and tail are the
# request's, so receiving is charged per bit and per second only.
LTE_RECEIVE = {"energy_per_bit_j": 51.97 * MW_PER_MBPS, "power_w": 1.2, "energy_per_transfer_j": 0.0}

# WiFi (ARO WiFi.conf / lte.conf): POWER_WIFI_ACTIVE 0.403 W while active and during the tail, WIFI_TAIL_TIME
# 0.25 s (ARO charges the tail at the active power). ARO's WiFi model has no per-bit term.
WIFI_SEND = {"energy_per_bit_j": 0.0, "power_w": 0.403, "energy_per_transfer_j": 0.25 * 0.403}
WIFI_RECEIVE = {"energy_per_bit_j": 0.0, "power_w": 0.403, "energy_per_transfer_j": 0.0}

# Bluetooth (ARO lte.conf): POWER_BLUETOOTH_ACTIVE 0.761 W, a phone's; used for both ends of a watch's link
# (no watch measurement could be read). No per-bit or tail term in ARO.
BLUETOOTH = {"energy_per_bit_j": 0.0, "power_w": 0.761, "energy_per_transfer_j": 0.0}

# Compute power per device class, (idle W, under load W); None where no source text could be read.
# - raspberry-pi-4: the Pi Dramble power table (Jeff Geerling; read from a copy quoting it): 540 mA (2.7 W)
#   idle, 1280 mA (6.4 W) under `stress --cpu 4` (400 % CPU). A measurement of the whole board.
# - htc-dream-cpu (phone class): PowerTutor's power model of the HTC Dream (Zhang et al., "Accurate Online
#   Power Estimation and Automatic Battery Behavior Based Power Model Generation for Smartphones",
#   CODES+ISSS 2010; its code, University of Michigan, read in github.com/sloanyang/PowerTutor,
#   src/edu/umich/PowerTutor/phone/DreamConstants.java and DreamPowerCalculator.java): the CPU draws
#   cpuPowerRatios x utilisation (%), 4.3388 mW/% at 383.38 MHz, so 433.88 mW at 100 % (the model's own
#   maximum, getMaxPower("CPU")) and 0 at 0 %. The CPU's power above idle: the phone's base power (screen,
#   idle radio) is drawn with or without inference and is not in this component.
# - jetson-nano: NVIDIA Jetson Linux Developer Guide, "Power Management for Jetson Nano", "Supported Modes and
#   Power Efficiency" table (read from a copy, xiaopingtou.net/article-89752.html): power budget 10 W in MaxN
#   (mode 0: 4 CPUs up to 1479 MHz, GPU up to 921.6 MHz; the default) and 5 W in mode 1. A budget the module
#   is capped at, so an upper bound on its draw under load, not a measurement; no idle figure was read.
# - ibm-x3550-x5675 (server class): SPECpower_ssj2008 result power_ssj2008-20110406-00368 (IBM x3550,
#   2 x Xeon X5675 3067 MHz, 6 cores each, 16 GB), as transcribed in CloudSim (github.com/Cloudslab/cloudsim,
#   PowerModelSpecPowerIbmX3550XeonX5675.java; Beloglazov and Buyya, CCPE 24(13), 2012): 58.4 W at active
#   idle, 222 W at 100 % target load.
DEVICE_POWER = {"raspberry-pi-4": (2.7, 6.4), "htc-dream-cpu": (0.0, 0.43388), "jetson-nano": (None, 10.0),
                "jetson-nano-5w": (None, 5.0), "ibm-x3550-x5675": (58.4, 222.0)}

# The paper's mobile chain (watch, phone, edge, cloud) with its radios: watch-phone Bluetooth (link 0,
# 500 kbit/s), phone-edge LTE at the phone's end (link 1; the edge's end is not a battery and unmeasured),
# edge-cloud wired, no radio model (link 2). Compute powers (active, idle): the phone the HTC Dream's CPU
# (0.43388 W, 0), the edge server a Jetson Nano at its MaxN budget (10 W, an upper bound; idle unread, 0), the
# cloud the IBM x3550's SPECpower figures (222 W, 58.4 W); the watch unread, 0.
PRESET_ENERGY = {
    "mobile-energy": {
        "active_power_w": [0.0, DEVICE_POWER["htc-dream-cpu"][1], DEVICE_POWER["jetson-nano"][1],
                           DEVICE_POWER["ibm-x3550-x5675"][1]],
        "idle_power_w": [0.0, DEVICE_POWER["htc-dream-cpu"][0], 0.0, DEVICE_POWER["ibm-x3550-x5675"][0]],
        "link_energy": [
            {"send": [BLUETOOTH, BLUETOOTH], "receive": [BLUETOOTH, BLUETOOTH]},
            {"send": [LTE_SEND, None], "receive": [LTE_RECEIVE, None]},
            None,
        ],
    },
}
