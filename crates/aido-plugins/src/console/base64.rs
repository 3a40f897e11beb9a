//! A small base64 decoder (RFC 4648) for `upload_file`'s `encoding: base64`.
//!
//! Written here rather than taken from a crate because decoding is all the
//! console needs. It accepts what senders actually produce: the standard
//! alphabet (`+`, `/`) and the URL-safe one (`-`, `_`), with or without `=`
//! padding, and line breaks or other ASCII whitespace anywhere (MIME wraps
//! lines at 76 characters). Bits left over in the last symbol are ignored,
//! as most decoders do. Anything else is an error that says where.

use std::fmt;

/// Why a base64 text could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DecodeError {
    message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for DecodeError {}

impl DecodeError {
    fn new(message: impl Into<String>) -> Self {
        DecodeError {
            message: message.into(),
        }
    }
}

/// The 6-bit value of one base64 symbol, in either alphabet.
fn sextet(symbol: u8) -> Option<u32> {
    let value = match symbol {
        b'A'..=b'Z' => symbol - b'A',
        b'a'..=b'z' => symbol - b'a' + 26,
        b'0'..=b'9' => symbol - b'0' + 52,
        b'+' | b'-' => 62,
        b'/' | b'_' => 63,
        _ => return None,
    };
    Some(u32::from(value))
}

/// Decodes base64 `text` into bytes.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3 + 2);
    // Bits read but not yet emitted; never more than 12 between pushes.
    let mut buffer: u32 = 0;
    let mut buffered_bits = 0;
    let mut symbols = 0usize;
    let mut padding = 0usize;
    for (position, byte) in text.bytes().enumerate() {
        if byte.is_ascii_whitespace() {
            continue;
        }
        if byte == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            return Err(DecodeError::new(format!(
                "base64 data continues after `=` padding (at byte {position})"
            )));
        }
        let value = sextet(byte).ok_or_else(|| {
            DecodeError::new(format!(
                "{} at byte {position} is not a base64 character \
                 (expected A-Z, a-z, 0-9, +, /, - or _)",
                describe_byte(byte)
            ))
        })?;
        buffer = (buffer << 6) | value;
        buffered_bits += 6;
        symbols += 1;
        if buffered_bits >= 8 {
            buffered_bits -= 8;
            // Truncation to the low 8 bits is the point: they are the next byte.
            out.push((buffer >> buffered_bits) as u8);
            buffer &= (1 << buffered_bits) - 1;
        }
    }
    check_ending(symbols, padding)?;
    Ok(out)
}

/// Four symbols make three bytes; a last group of two or three symbols makes
/// one or two bytes and, when padded, needs exactly the missing `=`s.
fn check_ending(symbols: usize, padding: usize) -> Result<(), DecodeError> {
    let remainder = symbols % 4;
    if remainder == 1 {
        return Err(DecodeError::new(format!(
            "base64 data is truncated: {symbols} symbols leave one that cannot make a byte"
        )));
    }
    let expected_padding = (4 - remainder) % 4;
    if padding != 0 && padding != expected_padding {
        return Err(DecodeError::new(format!(
            "base64 data has {padding} `=` padding characters where {expected_padding} belong"
        )));
    }
    Ok(())
}

fn describe_byte(byte: u8) -> String {
    if byte.is_ascii_graphic() {
        format!("`{}`", byte as char)
    } else {
        format!("byte 0x{byte:02x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain encoder, only to check that decoding inverts encoding.
    fn encode(bytes: &[u8]) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b))
                << (8 * (3 - chunk.len()));
            for i in 0..=chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            }
            for _ in chunk.len()..3 {
                out.push('=');
            }
        }
        out
    }

    #[test]
    fn rfc_4648_test_vectors() {
        let vectors = [
            ("", ""),
            ("Zg==", "f"),
            ("Zm8=", "fo"),
            ("Zm9v", "foo"),
            ("Zm9vYg==", "foob"),
            ("Zm9vYmE=", "fooba"),
            ("Zm9vYmFy", "foobar"),
        ];
        for (encoded, plain) in vectors {
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes(), "{encoded}");
            let unpadded = encoded.trim_end_matches('=');
            assert_eq!(decode(unpadded).unwrap(), plain.as_bytes(), "{unpadded}");
        }
    }

    #[test]
    fn every_byte_value_round_trips() {
        let bytes: Vec<u8> = (0..=255).chain((0..=255).rev()).collect();
        for len in [0, 1, 2, 3, 100, 511, 512] {
            let slice = &bytes[..len];
            assert_eq!(decode(&encode(slice)).unwrap(), slice, "length {len}");
        }
    }

    #[test]
    fn url_safe_alphabet_and_line_breaks_are_accepted() {
        assert_eq!(decode("-_-_").unwrap(), decode("+/+/").unwrap());
        assert_eq!(decode("Zm9v\r\nYmFy\n").unwrap(), b"foobar");
    }

    #[test]
    fn invalid_characters_are_located() {
        let err = decode("Zm9v*mFy").unwrap_err();
        assert!(err.to_string().contains("`*` at byte 4"), "{err}");
        let err = decode("Zm9v\u{e9}").unwrap_err();
        assert!(err.to_string().contains("0xc3"), "{err}");
    }

    #[test]
    fn bad_padding_and_truncation_are_errors() {
        assert!(decode("Zg=").unwrap_err().to_string().contains("1 `=`"));
        assert!(decode("Zm8==").is_err());
        assert!(
            decode("Zg==Zg==")
                .unwrap_err()
                .to_string()
                .contains("after `=`")
        );
        assert!(
            decode("Zm9vY")
                .unwrap_err()
                .to_string()
                .contains("truncated")
        );
        assert!(decode("====").is_err());
    }
}
