//! The small conveniences an application needs: `Config::build()?` in a function returning
//! `io::Result`, and choosing a cipher without a direct kcp-crypt dependency (this test
//! names only `kcp_session` paths for it).

use std::io;

use kcp_session::{CipherKind, Config, ConfigError, Mode, UnknownCipherError};

fn build_in_io_result(cfg: &Config) -> io::Result<kcp_session::Settings> {
    Ok(cfg.build()?)
}

#[test]
fn a_config_error_converts_to_an_io_error_that_keeps_it() {
    let mut c = Config::default();
    c.mtu = 2000;
    let err = build_in_io_result(&c).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
    let inner = err.get_ref().and_then(|e| e.downcast_ref::<ConfigError>());
    assert_eq!(inner, Some(&ConfigError::MtuTooLarge(2000)));
    assert!(build_in_io_result(&Config::default()).is_ok());
}

#[test]
fn a_cipher_and_a_mode_are_chosen_through_kcp_session_alone() {
    let mut c = Config::default();
    c.crypt = CipherKind::Salsa20;
    c.key = b"k".to_vec();
    c.mode = Mode::Fast2;
    assert!(c.build().is_ok());
    let parsed: CipherKind = "aes-128".parse().unwrap();
    assert_eq!(parsed, CipherKind::Aes128);
    let bad: Result<CipherKind, UnknownCipherError> = "rot13".parse();
    assert!(bad.is_err());
}
