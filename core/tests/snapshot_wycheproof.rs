//! Wycheproof Ed25519 verification vectors (`data/wycheproof/`, source in its README) against
//! `VerifierKey::verify`, the function that checks every note signature.

use qed_core::snapshot::VerifierKey;
use serde_json::Value;

#[test]
fn every_wycheproof_case_matches() {
    let data: Value =
        serde_json::from_str(include_str!("data/wycheproof/ed25519_test.json")).unwrap();
    assert_eq!(data["algorithm"], "EDDSA");
    let mut checked = 0u64;
    let (mut valid, mut invalid) = (0u64, 0u64);
    for group in data["testGroups"].as_array().unwrap() {
        assert_eq!(group["publicKey"]["curve"], "edwards25519");
        let pk: [u8; 32] = hex::decode(group["publicKey"]["pk"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        // A refused key rejects every signature: then every case must be invalid.
        let key = VerifierKey::new("wycheproof", &pk).ok();
        for case in group["tests"].as_array().unwrap() {
            let id = &case["tcId"];
            let msg = hex::decode(case["msg"].as_str().unwrap()).unwrap();
            let sig = hex::decode(case["sig"].as_str().unwrap()).unwrap();
            let accepted = key.as_ref().is_some_and(|k| k.verify(&msg, &sig));
            match case["result"].as_str().unwrap() {
                "valid" => {
                    assert!(accepted, "tcId {id} is valid but was rejected");
                    valid += 1;
                }
                "invalid" => {
                    assert!(!accepted, "tcId {id} is invalid but was accepted");
                    invalid += 1;
                }
                other => panic!("tcId {id}: result {other:?} needs a documented decision"),
            }
            checked += 1;
        }
    }
    assert_eq!(checked, data["numberOfTests"].as_u64().unwrap());
    assert_eq!((checked, valid, invalid), (151, 88, 63));
}
