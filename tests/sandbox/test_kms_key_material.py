"""KMS key pairs generated on first use (``sandbox.kms_key_material``): asymmetric keys sign, verify and publish a
public key that checks their signatures, the same pair every time; symmetric keys encrypt and decrypt."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from awspatterns.sandbox.kms_key_material import DeferredKeyPair

MESSAGE = b"sign me"


def test_an_rsa_key_signs_and_its_public_key_checks_the_signature(account):
    kms = account.client("kms")
    key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signature = kms.sign(KeyId=key, Message=MESSAGE, SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")["Signature"]
    assert kms.verify(KeyId=key, Message=MESSAGE, Signature=signature, SigningAlgorithm="RSASSA_PKCS1_V1_5_SHA_256")[
        "SignatureValid"
    ]
    public = kms.get_public_key(KeyId=key)["PublicKey"]
    assert kms.get_public_key(KeyId=key)["PublicKey"] == public
    loaded = serialization.load_der_public_key(public)
    assert isinstance(loaded, rsa.RSAPublicKey) and loaded.key_size == 2048
    loaded.verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())


def test_an_ecc_key_signs_and_verifies(account):
    kms = account.client("kms")
    key = kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    signature = kms.sign(KeyId=key, Message=MESSAGE, SigningAlgorithm="ECDSA_SHA_256")["Signature"]
    public = serialization.load_der_public_key(kms.get_public_key(KeyId=key)["PublicKey"])
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(signature, MESSAGE, ec.ECDSA(hashes.SHA256()))


def test_a_symmetric_key_encrypts_and_decrypts(account):
    kms = account.client("kms")
    key = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key, Plaintext=b"secret")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"secret"


def test_the_pair_is_generated_on_first_use_and_only_once():
    made = []

    class Pair:
        def public_key(self):
            return hashlib.sha256(str(id(self)).encode()).digest()

    def generate(spec):
        made.append(spec)
        return Pair()

    pair = DeferredKeyPair(generate, "RSA_2048")
    assert not pair.generated() and made == []
    assert pair.public_key() == pair.public_key()
    assert made == ["RSA_2048"] and pair.generated()
    with pytest.raises(AttributeError):
        pair._anything  # noqa: B018
