#!/usr/bin/env python3
# -*- coding: utf-8 -*-

#
# SPDX-License-Identifier: GPL-3.0
#
# GNU Radio Python Flow Graph
# Title: gr-eeamc: RTL-SDR band scanner (SoapySDR)
# Author: gr-eeamc
# Description: An RTL-SDR through SoapySDR (driver=rtlsdr) at 2.4 MS/s: the waterfall of the band, every signal the scanner finds with its class, confidence and exit, and one channel (picked with the range) through the channel classifier.
# GNU Radio version: 3.10.5.1

from packaging.version import Version as StrictVersion

if __name__ == '__main__':
    import ctypes
    import sys
    if sys.platform.startswith('linux'):
        try:
            x11 = ctypes.cdll.LoadLibrary('libX11.so')
            x11.XInitThreads()
        except:
            print("Warning: failed to XInitThreads()")

from PyQt5 import Qt
from gnuradio import qtgui
from gnuradio.filter import firdes
import sip
from gnuradio import eeamc
from gnuradio import gr
from gnuradio.fft import window
import sys
import signal
from argparse import ArgumentParser
from gnuradio.eng_arg import eng_float, intx
from gnuradio import eng_notation
from gnuradio import soapy
from gnuradio import zeromq
from gnuradio.qtgui import Range, RangeWidget
from PyQt5 import QtCore



from gnuradio import qtgui

class rtlsdr_soapy_scanner(gr.top_block, Qt.QWidget):

    def __init__(self, samp_rate=2.4e6, freq=100e6, gain=30, ppm=0, args='', model='', device='auto', zmq_address='tcp://127.0.0.1:5557'):
        gr.top_block.__init__(self, "gr-eeamc: RTL-SDR band scanner (SoapySDR)", catch_exceptions=True)
        Qt.QWidget.__init__(self)
        self.setWindowTitle("gr-eeamc: RTL-SDR band scanner (SoapySDR)")
        qtgui.util.check_set_qss()
        try:
            self.setWindowIcon(Qt.QIcon.fromTheme('gnuradio-grc'))
        except:
            pass
        self.top_scroll_layout = Qt.QVBoxLayout()
        self.setLayout(self.top_scroll_layout)
        self.top_scroll = Qt.QScrollArea()
        self.top_scroll.setFrameStyle(Qt.QFrame.NoFrame)
        self.top_scroll_layout.addWidget(self.top_scroll)
        self.top_scroll.setWidgetResizable(True)
        self.top_widget = Qt.QWidget()
        self.top_scroll.setWidget(self.top_widget)
        self.top_layout = Qt.QVBoxLayout(self.top_widget)
        self.top_grid_layout = Qt.QGridLayout()
        self.top_layout.addLayout(self.top_grid_layout)

        self.settings = Qt.QSettings("GNU Radio", "rtlsdr_soapy_scanner")

        try:
            if StrictVersion(Qt.qVersion()) < StrictVersion("5.0.0"):
                self.restoreGeometry(self.settings.value("geometry").toByteArray())
            else:
                self.restoreGeometry(self.settings.value("geometry"))
        except:
            pass

        ##################################################
        # Parameters
        ##################################################
        self.samp_rate = samp_rate
        self.freq = freq
        self.gain = gain
        self.ppm = ppm
        self.args = args
        self.model = model
        self.device = device
        self.zmq_address = zmq_address

        ##################################################
        # Variables
        ##################################################
        self.channel_offset = channel_offset = 0

        ##################################################
        # Blocks
        ##################################################

        self.zmq = zeromq.pub_msg_sink(zmq_address, 100, True)
        self.waterfall = qtgui.waterfall_sink_c(
            1024, #size
            window.WIN_BLACKMAN_hARRIS, #wintype
            freq, #fc
            samp_rate, #bw
            "Band", #name
            1, #number of inputs
            None # parent
        )
        self.waterfall.set_update_time(0.10)
        self.waterfall.enable_grid(False)
        self.waterfall.enable_axis_labels(True)

        self.waterfall.disable_legend()


        labels = ['', '', '', '', '',
                  '', '', '', '', '']
        colors = [0, 0, 0, 0, 0,
                  0, 0, 0, 0, 0]
        alphas = [1.0, 1.0, 1.0, 1.0, 1.0,
                  1.0, 1.0, 1.0, 1.0, 1.0]

        for i in range(1):
            if len(labels[i]) == 0:
                self.waterfall.set_line_label(i, "Data {0}".format(i))
            else:
                self.waterfall.set_line_label(i, labels[i])
            self.waterfall.set_color_map(i, colors[i])
            self.waterfall.set_line_alpha(i, alphas[i])

        self.waterfall.set_intensity_range(-100, -20)

        self._waterfall_win = sip.wrapinstance(self.waterfall.qwidget(), Qt.QWidget)

        self.top_grid_layout.addWidget(self._waterfall_win, 0, 0, 1, 2)
        for r in range(0, 1):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.scanner_results = eeamc.qtgui_sink('Scanner: every signal in the band', stale_after=5, drop_after=60, update_hz=10, model=model, samp_rate=samp_rate)
        self._scanner_results_win = self.scanner_results.qwidget()
        self.top_grid_layout.addWidget(self._scanner_results_win, 1, 0, 1, 1)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 1):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.scanner = eeamc.scanner(samp_rate=samp_rate, model=model, device=device, threshold=-1, report='all', report_every=10, min_snr_db=6, max_channels=8, max_batch=256, message_mode='window', classify_every=1, on_overload='queue', precision='auto', average=1, adaptive_exits=False)
        self.radio = None
        dev = 'driver=rtlsdr'
        stream_args = ''
        tune_args = ['']
        settings = ['']

        self.radio = soapy.source(dev, "fc32", 1, args,
                                  stream_args, tune_args, settings)
        self.radio.set_sample_rate(0, samp_rate)
        self.radio.set_gain_mode(0, False)
        self.radio.set_frequency(0, freq)
        self.radio.set_frequency_correction(0, ppm)
        self.radio.set_gain(0, 'TUNER', gain)
        self.channel_results = eeamc.qtgui_sink('Channel classifier: the channel picked below', stale_after=5, drop_after=60, update_hz=10, model=model, samp_rate=samp_rate)
        self._channel_results_win = self.channel_results.qwidget()
        self.top_grid_layout.addWidget(self._channel_results_win, 1, 1, 1, 1)
        for r in range(1, 2):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(1, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self._channel_offset_range = Range(-samp_rate / 2, samp_rate / 2, 1e3, 0, 200)
        self._channel_offset_win = RangeWidget(self._channel_offset_range, self.set_channel_offset, "Channel offset (Hz)", "counter_slider", float, QtCore.Qt.Horizontal)
        self.top_grid_layout.addWidget(self._channel_offset_win, 2, 0, 1, 2)
        for r in range(2, 3):
            self.top_grid_layout.setRowStretch(r, 1)
        for c in range(0, 2):
            self.top_grid_layout.setColumnStretch(c, 1)
        self.channel = eeamc.channel_classifier(samp_rate=samp_rate, freq_offset=channel_offset, bandwidth=0, model=model, device=device, threshold=-1, report='all', report_every=10, squelch_db=6, max_batch=256, message_mode='window', classify_every=1, on_overload='queue', precision='auto', average=1, adaptive_exits=False)


        ##################################################
        # Connections
        ##################################################
        self.msg_connect((self.channel, 'classification'), (self.channel_results, 'classification'))
        self.msg_connect((self.scanner, 'classification'), (self.scanner_results, 'classification'))
        self.msg_connect((self.scanner, 'classification'), (self.zmq, 'in'))
        self.connect((self.radio, 0), (self.channel, 0))
        self.connect((self.radio, 0), (self.scanner, 0))
        self.connect((self.radio, 0), (self.waterfall, 0))


    def closeEvent(self, event):
        self.settings = Qt.QSettings("GNU Radio", "rtlsdr_soapy_scanner")
        self.settings.setValue("geometry", self.saveGeometry())
        self.stop()
        self.wait()

        event.accept()

    def get_samp_rate(self):
        return self.samp_rate

    def set_samp_rate(self, samp_rate):
        self.samp_rate = samp_rate
        self.radio.set_sample_rate(0, self.samp_rate)
        self.waterfall.set_frequency_range(self.freq, self.samp_rate)
        self.scanner_results.set_timing(60, self.samp_rate)
        self.channel_results.set_timing(60, self.samp_rate)

    def get_freq(self):
        return self.freq

    def set_freq(self, freq):
        self.freq = freq
        self.radio.set_frequency(0, self.freq)
        self.waterfall.set_frequency_range(self.freq, self.samp_rate)

    def get_gain(self):
        return self.gain

    def set_gain(self, gain):
        self.gain = gain
        self.radio.set_gain(0, 'TUNER', self.gain)

    def get_ppm(self):
        return self.ppm

    def set_ppm(self, ppm):
        self.ppm = ppm
        self.radio.set_frequency_correction(0, self.ppm)

    def get_args(self):
        return self.args

    def set_args(self, args):
        self.args = args

    def get_model(self):
        return self.model

    def set_model(self, model):
        self.model = model

    def get_device(self):
        return self.device

    def set_device(self, device):
        self.device = device

    def get_zmq_address(self):
        return self.zmq_address

    def set_zmq_address(self, zmq_address):
        self.zmq_address = zmq_address

    def get_channel_offset(self):
        return self.channel_offset

    def set_channel_offset(self, channel_offset):
        self.channel_offset = channel_offset
        self.channel.set_freq_offset(self.channel_offset)



def argument_parser():
    description = 'An RTL-SDR through SoapySDR (driver=rtlsdr) at 2.4 MS/s: the waterfall of the band, every signal the scanner finds with its class, confidence and exit, and one channel (picked with the range) through the channel classifier.'
    parser = ArgumentParser(description=description)
    parser.add_argument(
        "-s", "--samp-rate", dest="samp_rate", type=eng_float, default=eng_notation.num_to_str(float(2.4e6)),
        help="Set Sample rate [default=%(default)r]")
    parser.add_argument(
        "-f", "--freq", dest="freq", type=eng_float, default=eng_notation.num_to_str(float(100e6)),
        help="Set Centre frequency [default=%(default)r]")
    parser.add_argument(
        "-g", "--gain", dest="gain", type=eng_float, default=eng_notation.num_to_str(float(30)),
        help="Set Gain (dB) [default=%(default)r]")
    parser.add_argument(
        "-p", "--ppm", dest="ppm", type=eng_float, default=eng_notation.num_to_str(float(0)),
        help="Set Frequency correction (ppm) [default=%(default)r]")
    parser.add_argument(
        "-a", "--args", dest="args", type=str, default='',
        help="Set Device arguments [default=%(default)r]")
    parser.add_argument(
        "-m", "--model", dest="model", type=str, default='',
        help="Set Model [default=%(default)r]")
    parser.add_argument(
        "--device", dest="device", type=str, default='auto',
        help="Set Inference device [default=%(default)r]")
    parser.add_argument(
        "-z", "--zmq-address", dest="zmq_address", type=str, default='tcp://127.0.0.1:5557',
        help="Set ZMQ address [default=%(default)r]")
    return parser


def main(top_block_cls=rtlsdr_soapy_scanner, options=None):
    if options is None:
        options = argument_parser().parse_args()

    if StrictVersion("4.5.0") <= StrictVersion(Qt.qVersion()) < StrictVersion("5.0.0"):
        style = gr.prefs().get_string('qtgui', 'style', 'raster')
        Qt.QApplication.setGraphicsSystem(style)
    qapp = Qt.QApplication(sys.argv)

    tb = top_block_cls(samp_rate=options.samp_rate, freq=options.freq, gain=options.gain, ppm=options.ppm, args=options.args, model=options.model, device=options.device, zmq_address=options.zmq_address)

    tb.start()

    tb.show()

    def sig_handler(sig=None, frame=None):
        tb.stop()
        tb.wait()

        Qt.QApplication.quit()

    signal.signal(signal.SIGINT, sig_handler)
    signal.signal(signal.SIGTERM, sig_handler)

    timer = Qt.QTimer()
    timer.start(500)
    timer.timeout.connect(lambda: None)

    qapp.exec_()

if __name__ == '__main__':
    main()
