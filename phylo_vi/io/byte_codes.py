"""Named ASCII bytes and byte classes of the Newick/NEXUS scanners (:mod:`.batch_parser`, :mod:`.counting`).

The Numba kernels compare raw ``uint8`` bytes; module-level integers are compile-time constants
there, so naming them costs nothing. ``byte | CASE_BIT`` lower-cases an ASCII letter.
"""
from __future__ import annotations

import numpy as np
from numba import njit

NEWLINE = ord("\n")
SPACE = ord(" ")
TAB, CARRIAGE_RETURN = ord("\t"), ord("\r")
QUOTE = ord("'")
OPEN_PAREN, CLOSE_PAREN = ord("("), ord(")")
OPEN_BRACKET, CLOSE_BRACKET = ord("["), ord("]")
COMMA, COLON, SEMICOLON, EQUALS = ord(","), ord(":"), ord(";"), ord("=")
AMPERSAND, ASTERISK = ord("&"), ord("*")
PLUS, MINUS, DOT = ord("+"), ord("-"), ord(".")
DIGIT_0, DIGIT_9 = ord("0"), ord("9")
CASE_BIT = 32
LOWER_E, UPPER_E = ord("e"), ord("E")
LOWER_R, LOWER_T, LOWER_U, LOWER_W = ord("r"), ord("t"), ord("u"), ord("w")

# byte classes (bit flags of BYTE_CLASSES)
WHITESPACE, LABEL_BYTE, ENDS_NUMBER = 1, 2, 4
_NEWICK_PUNCTUATION = b"()[]',:;"


def _byte_classes() -> np.ndarray:
    classes = np.zeros(256, dtype=np.uint8)
    for byte in range(256):
        space = byte == SPACE or TAB <= byte <= CARRIAGE_RETURN
        if space:
            classes[byte] |= WHITESPACE
        if not space and bytes([byte]) not in _NEWICK_PUNCTUATION:
            classes[byte] |= LABEL_BYTE
        if space or bytes([byte]) in b",)[;":
            classes[byte] |= ENDS_NUMBER
    return classes


BYTE_CLASSES = _byte_classes()


@njit(cache=True, nogil=True)
def is_space(byte) -> bool:
    """ASCII whitespace: space, tab, newline, vertical tab, form feed, carriage return."""
    return (BYTE_CLASSES[byte] & WHITESPACE) != 0


@njit(cache=True, nogil=True)
def is_label_byte(byte) -> bool:
    """A byte of an unquoted label: not whitespace and not one of ``( ) [ ] ' , : ;``."""
    return (BYTE_CLASSES[byte] & LABEL_BYTE) != 0


@njit(cache=True, nogil=True)
def ends_number(byte) -> bool:
    """A byte that may follow a branch length: whitespace or one of ``, ) [ ;``."""
    return (BYTE_CLASSES[byte] & ENDS_NUMBER) != 0


@njit(cache=True, nogil=True)
def is_digit(byte) -> bool:
    return DIGIT_0 <= byte <= DIGIT_9
