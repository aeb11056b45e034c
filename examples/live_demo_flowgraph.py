#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-eeamc live classification demo
# Author: gr-eeamc
# Description: Live modulation classification with no radio: ten RML22-style modulations made with GNU Radio blocks, a selector picking one, a channel (Rayleigh fading, frequency offset, unit-power normalisation, noise at snr_db), a throttle, and the early-exit classifier. The driver examples/live_demo.py switches modulation, SNR and CFO while it runs.
# GNU Radio version: 3.10.5.1

from gnuradio import analog
from gnuradio import blocks
from gnuradio import channels
from gnuradio import digital
from gnuradio import eeamc
from gnuradio import filter
from gnuradio import gr
from gnuradio.filter import firdes
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import zeromq
from gnuradio.filter import pfb
import math
try:
    from gnuradio.eeamc.contract import RML22_SAMPLE_RATE
except ImportError:  # grcc on a Python without gr-eeamc: the contract's definition (tested equal)
    RML22_SAMPLE_RATE = 2 / 66.67e-6




class live_demo_flowgraph(gr.top_block):

    def __init__(self, samp_rate=200e3, model_path='', device='auto', threshold=(-1), audio_file='', seed=0, zmq_address='tcp://127.0.0.1:5557'):
        gr.top_block.__init__(self, "gr-eeamc live classification demo", catch_exceptions=True)

        ##################################################
        # Parameters
        ##################################################
        self.samp_rate = samp_rate
        self.model_path = model_path
        self.device = device
        self.threshold = threshold
        self.audio_file = audio_file
        self.seed = seed
        self.zmq_address = zmq_address

        ##################################################
        # Variables
        ##################################################
        self.snr_db = snr_db = 20
        self.rrc_taps = rrc_taps = firdes.root_raised_cosine(32, 32, 1.0, 0.35, 32 * 11 * 2)
        self.rml22_rate = rml22_rate = RML22_SAMPLE_RATE
        self.power_alpha = power_alpha = 1 / 8192
        self.modulation = modulation = 0
        self.cfo = cfo = 0

        ##################################################
        # Blocks
        ##################################################

        self.zmq = zeromq.pub_msg_sink(zmq_address, 100, True)
        self.unit_power = blocks.divide_cc(1)
        self.throttle = blocks.throttle(gr.sizeof_gr_complex*1, samp_rate,True)
        self.sink = blocks.null_sink(gr.sizeof_gr_complex*1)
        self.signal_rms = blocks.rms_cf(power_alpha)
        self.selector = blocks.selector(gr.sizeof_gr_complex*1,modulation,0)
        self.selector.set_enabled(True)
        self.rrc_qpsk = pfb.arb_resampler_ccf(
            2,
            taps=rrc_taps,
            flt_size=32)
        self.rrc_qpsk.declare_sample_delay(0)
        self.rrc_qam64 = pfb.arb_resampler_ccf(
            2,
            taps=rrc_taps,
            flt_size=32)
        self.rrc_qam64.declare_sample_delay(0)
        self.rrc_qam16 = pfb.arb_resampler_ccf(
            2,
            taps=rrc_taps,
            flt_size=32)
        self.rrc_qam16.declare_sample_delay(0)
        self.rrc_pam4 = pfb.arb_resampler_ccf(
            2,
            taps=rrc_taps,
            flt_size=32)
        self.rrc_pam4.declare_sample_delay(0)
        self.rrc_bpsk = pfb.arb_resampler_ccf(
            2,
            taps=rrc_taps,
            flt_size=32)
        self.rrc_bpsk.declare_sample_delay(0)
        self.rrc_8psk = pfb.arb_resampler_ccf(
            2,
            taps=rrc_taps,
            flt_size=32)
        self.rrc_8psk.declare_sample_delay(0)
        self.rms_floor = blocks.add_const_ff((1e-12))
        self.rms_complex = blocks.float_to_complex(1)
        self.resample_am = filter.mmse_resampler_ff(0, (44100 / rml22_rate))
        self.noise = analog.noise_source_c(analog.GR_GAUSSIAN, (10 ** (-snr_db / 20)), (seed + 30))
        self.mod_wbfm = analog.wfm_tx(
        	audio_rate=44100,
        	quad_rate=44100,
        	tau=(75e-6),
        	max_dev=75e3,
        	fh=(-1.0),
        )
        self.mod_gfsk = digital.gfsk_mod(
            samples_per_symbol=2,
            sensitivity=1.57,
            bt=0.3,
            verbose=False,
            log=False,
            do_unpack=True)
        self.mod_cpfsk = analog.cpfsk_bc(0.5, 1.0, 2)
        self.map_qpsk = digital.chunks_to_symbols_bc(digital.constellation_qpsk().points(), 1)
        self.map_qam64 = digital.chunks_to_symbols_bc(digital.qam_constellation(64).points(), 1)
        self.map_qam16 = digital.chunks_to_symbols_bc(digital.constellation_16qam().points(), 1)
        self.map_pam4 = digital.chunks_to_symbols_bc([complex(level) for level in (-3, -1, 1, 3)], 1)
        self.map_bpsk = digital.chunks_to_symbols_bc(digital.constellation_bpsk().points(), 1)
        self.map_8psk = digital.chunks_to_symbols_bc(digital.constellation_8psk().points(), 1)
        self.frequency_offset = blocks.rotator_cc((2 * math.pi * cfo), False)
        self.fading = channels.fading_model( 8, (70 / rml22_rate), False, 4.0, (seed + 20) )
        self.complex_am = blocks.float_to_complex(1)
        self.carrier_am = blocks.add_const_cc(1.0)
        self.bytes_gfsk = analog.random_uniform_source_b(0, 256, (seed + 7))
        self.bits_qpsk = analog.random_uniform_source_b(0, 4, (seed + 6))
        self.bits_qam64 = analog.random_uniform_source_b(0, 64, (seed + 2))
        self.bits_qam16 = analog.random_uniform_source_b(0, 16, (seed + 1))
        self.bits_pam4 = analog.random_uniform_source_b(0, 4, (seed + 5))
        self.bits_cpfsk = analog.random_uniform_source_b(0, 2, (seed + 8))
        self.bits_bpsk = analog.random_uniform_source_b(0, 2, (seed + 4))
        self.bits_8psk = analog.random_uniform_source_b(0, 8, (seed + 3))
        self.audio_wbfm = blocks.wavfile_source(audio_file, True)
        self.audio_am = blocks.wavfile_source(audio_file, True)
        self.amc = eeamc.classifier(model=model_path, device=device, threshold=threshold, report='all', report_every=1, max_batch=256, message_mode='window', classify_every=1, on_overload='queue', precision='auto', average=1, adaptive_exits=False, samp_rate=0)
        self.add_noise = blocks.add_vcc(1)


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.amc, 'classification'), (self.zmq, 'in'))
        self.connect((self.add_noise, 0), (self.throttle, 0))
        self.connect((self.amc, 0), (self.sink, 0))
        self.connect((self.audio_am, 0), (self.resample_am, 0))
        self.connect((self.audio_wbfm, 0), (self.mod_wbfm, 0))
        self.connect((self.bits_8psk, 0), (self.map_8psk, 0))
        self.connect((self.bits_bpsk, 0), (self.map_bpsk, 0))
        self.connect((self.bits_cpfsk, 0), (self.mod_cpfsk, 0))
        self.connect((self.bits_pam4, 0), (self.map_pam4, 0))
        self.connect((self.bits_qam16, 0), (self.map_qam16, 0))
        self.connect((self.bits_qam64, 0), (self.map_qam64, 0))
        self.connect((self.bits_qpsk, 0), (self.map_qpsk, 0))
        self.connect((self.bytes_gfsk, 0), (self.mod_gfsk, 0))
        self.connect((self.carrier_am, 0), (self.selector, 6))
        self.connect((self.complex_am, 0), (self.carrier_am, 0))
        self.connect((self.fading, 0), (self.frequency_offset, 0))
        self.connect((self.frequency_offset, 0), (self.signal_rms, 0))
        self.connect((self.frequency_offset, 0), (self.unit_power, 0))
        self.connect((self.map_8psk, 0), (self.rrc_8psk, 0))
        self.connect((self.map_bpsk, 0), (self.rrc_bpsk, 0))
        self.connect((self.map_pam4, 0), (self.rrc_pam4, 0))
        self.connect((self.map_qam16, 0), (self.rrc_qam16, 0))
        self.connect((self.map_qam64, 0), (self.rrc_qam64, 0))
        self.connect((self.map_qpsk, 0), (self.rrc_qpsk, 0))
        self.connect((self.mod_cpfsk, 0), (self.selector, 5))
        self.connect((self.mod_gfsk, 0), (self.selector, 7))
        self.connect((self.mod_wbfm, 0), (self.selector, 3))
        self.connect((self.noise, 0), (self.add_noise, 1))
        self.connect((self.resample_am, 0), (self.complex_am, 0))
        self.connect((self.rms_complex, 0), (self.unit_power, 1))
        self.connect((self.rms_floor, 0), (self.rms_complex, 0))
        self.connect((self.rrc_8psk, 0), (self.selector, 2))
        self.connect((self.rrc_bpsk, 0), (self.selector, 4))
        self.connect((self.rrc_pam4, 0), (self.selector, 8))
        self.connect((self.rrc_qam16, 0), (self.selector, 0))
        self.connect((self.rrc_qam64, 0), (self.selector, 1))
        self.connect((self.rrc_qpsk, 0), (self.selector, 9))
        self.connect((self.selector, 0), (self.fading, 0))
        self.connect((self.signal_rms, 0), (self.rms_floor, 0))
        self.connect((self.throttle, 0), (self.amc, 0))
        self.connect((self.unit_power, 0), (self.add_noise, 0))


    def get_samp_rate(self):
        return self.samp_rate

    def set_samp_rate(self, samp_rate):
        self.samp_rate = samp_rate
        self.throttle.set_sample_rate(self.samp_rate)

    def get_model_path(self):
        return self.model_path

    def set_model_path(self, model_path):
        self.model_path = model_path

    def get_device(self):
        return self.device

    def set_device(self, device):
        self.device = device

    def get_threshold(self):
        return self.threshold

    def set_threshold(self, threshold):
        self.threshold = threshold
        self.amc.set_threshold(self.threshold)

    def get_audio_file(self):
        return self.audio_file

    def set_audio_file(self, audio_file):
        self.audio_file = audio_file

    def get_seed(self):
        return self.seed

    def set_seed(self, seed):
        self.seed = seed

    def get_zmq_address(self):
        return self.zmq_address

    def set_zmq_address(self, zmq_address):
        self.zmq_address = zmq_address

    def get_snr_db(self):
        return self.snr_db

    def set_snr_db(self, snr_db):
        self.snr_db = snr_db
        self.noise.set_amplitude((10 ** (-self.snr_db / 20)))

    def get_rrc_taps(self):
        return self.rrc_taps

    def set_rrc_taps(self, rrc_taps):
        self.rrc_taps = rrc_taps
        self.rrc_qam16.set_taps(self.rrc_taps)
        self.rrc_qam64.set_taps(self.rrc_taps)
        self.rrc_8psk.set_taps(self.rrc_taps)
        self.rrc_bpsk.set_taps(self.rrc_taps)
        self.rrc_pam4.set_taps(self.rrc_taps)
        self.rrc_qpsk.set_taps(self.rrc_taps)

    def get_rml22_rate(self):
        return self.rml22_rate

    def set_rml22_rate(self, rml22_rate):
        self.rml22_rate = rml22_rate
        self.resample_am.set_resamp_ratio((44100 / self.rml22_rate))
        self.fading.set_fDTs((70 / self.rml22_rate))

    def get_power_alpha(self):
        return self.power_alpha

    def set_power_alpha(self, power_alpha):
        self.power_alpha = power_alpha
        self.signal_rms.set_alpha(self.power_alpha)

    def get_modulation(self):
        return self.modulation

    def set_modulation(self, modulation):
        self.modulation = modulation
        self.selector.set_input_index(self.modulation)

    def get_cfo(self):
        return self.cfo

    def set_cfo(self, cfo):
        self.cfo = cfo
        self.frequency_offset.set_phase_inc((2 * math.pi * self.cfo))



def argument_parser():
    description = 'Live modulation classification with no radio: ten RML22-style modulations made with GNU Radio blocks, a selector picking one, a channel (Rayleigh fading, frequency offset, unit-power normalisation, noise at snr_db), a throttle, and the early-exit classifier. The driver examples/live_demo.py switches modulation, SNR and CFO while it runs.'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "-r", "--samp-rate", dest="samp_rate", type=eng_float, default=eng_notation.num_to_str(float(200e3)),
        help="Set Sample rate [default=%(default)r]")
    parser.add_argument(
        "-m", "--model-path", dest="model_path", type=str, default='',
        help="Set Model [default=%(default)r]")
    parser.add_argument(
        "--device", dest="device", type=str, default='auto',
        help="Set Device [default=%(default)r]")
    parser.add_argument(
        "-t", "--threshold", dest="threshold", type=eng_float, default=eng_notation.num_to_str(float((-1))),
        help="Set Entropy threshold [default=%(default)r]")
    parser.add_argument(
        "-a", "--audio-file", dest="audio_file", type=str, default='',
        help="Set Audio WAV file [default=%(default)r]")
    parser.add_argument(
        "-s", "--seed", dest="seed", type=intx, default=0,
        help="Set Seed [default=%(default)r]")
    parser.add_argument(
        "-z", "--zmq-address", dest="zmq_address", type=str, default='tcp://127.0.0.1:5557',
        help="Set ZMQ address [default=%(default)r]")
    return parser


def main(top_block_cls=live_demo_flowgraph, options=None):
    if options is None:
        options = argument_parser().parse_args()
    tb = top_block_cls(samp_rate=options.samp_rate, model_path=options.model_path, device=options.device, threshold=options.threshold, audio_file=options.audio_file, seed=options.seed, zmq_address=options.zmq_address)

    def sig_handler(sig=None, frame=None):
        tb.stop()
        tb.wait()

        sys.exit(0)

    signal.signal(signal.SIGINT, sig_handler)
    signal.signal(signal.SIGTERM, sig_handler)

    tb.start()

    tb.wait()


if __name__ == '__main__':
    main()
