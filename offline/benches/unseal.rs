//! Measures how long unsealing a key takes for each scrypt work factor, to choose
//! `seal::DEFAULT_LOG_N` (target: about one second on the ceremony machine).
//!
//! Run with `cargo bench -p keyexport-offline --bench unseal`; prints one line per factor.
//! It drives the `age` crate with the same recipient and identity types as `seal.rs`.

use std::io::{Read, Write};
use std::time::Instant;

use age::secrecy::SecretString;

fn main() {
    let passphrase = || SecretString::from("benchmark passphrase".to_owned());
    println!("scrypt log2(N)  seal (s)  unseal (s)");
    for log_n in 16..=21u8 {
        let mut recipient = age::scrypt::Recipient::new(passphrase());
        recipient.set_work_factor(log_n);
        let started = Instant::now();
        let encryptor =
            age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                .expect("one scrypt recipient is a valid recipient set");
        let mut sealed = Vec::new();
        let mut writer = encryptor
            .wrap_output(&mut sealed)
            .expect("writing to memory");
        writer.write_all(&[0x42; 160]).expect("writing to memory");
        writer.finish().expect("writing to memory");
        let seal_secs = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let decryptor = age::Decryptor::new(&sealed[..]).expect("just written");
        let mut identity = age::scrypt::Identity::new(passphrase());
        identity.set_max_work_factor(30);
        let mut plaintext = Vec::new();
        decryptor
            .decrypt(std::iter::once(&identity as &dyn age::Identity))
            .expect("right passphrase")
            .read_to_end(&mut plaintext)
            .expect("reading from memory");
        let unseal_secs = started.elapsed().as_secs_f64();
        println!("{log_n:>14}  {seal_secs:>8.3}  {unseal_secs:>10.3}");
    }
}
