"""BlobStore on Amazon S3, and the aws profile's download URLs.

Keys are stored under an optional prefix (`s3://bucket/prefix` in the blob URL). A PUT
is atomic in S3, so readers see a whole object or none. copy() is one CopyObject, which
S3 limits to 5 GB: far above any artifact here.

Download URLs: CloudFront signed URLs (canned policy, RSA-SHA1 as CloudFront requires)
when the distribution's domain, public key id and private key file are configured;
otherwise S3 presigned GET URLs (SigV4, at most 7 days).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from botocore.signers import CloudFrontSigner
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from assetcore.aws_client import LazyClient, client_config, describe_error, error_code
from assetcore.blobs.base import BlobNotFound, BlobStoreError
from assetcore.config import AwsSettings, Settings

MAX_KEY_BYTES = 1024  # S3's key limit
MAX_PRESIGN_TTL_S = 7 * 24 * 3600  # SigV4 presigned URLs expire within a week
_MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


def object_key(prefix: str, key: str) -> str:
    """The S3 key of a blob key; refuses keys the filesystem store would refuse too."""
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        raise BlobStoreError(f"invalid blob key {key!r}")
    full = f"{prefix.strip('/')}/{key}" if prefix.strip("/") else key
    if len(full.encode()) > MAX_KEY_BYTES:
        raise BlobStoreError(f"blob key {key!r} is longer than S3's {MAX_KEY_BYTES} bytes")
    return full


@contextlib.contextmanager
def _translated(action: str, key: str) -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        if error_code(exc) in _MISSING_CODES:
            raise BlobNotFound(key) from exc
        raise BlobStoreError(f"{action} {key!r} failed: {describe_error(exc)}") from exc
    except BotoCoreError as exc:
        raise BlobStoreError(f"{action} {key!r} failed: {describe_error(exc)}") from exc


class S3BlobStore:
    def __init__(self, settings: AwsSettings, bucket: str, prefix: str = "") -> None:
        if not bucket:
            raise ValueError("S3BlobStore needs a bucket name")
        self.bucket = bucket
        self.prefix = prefix
        self._client = LazyClient("s3", settings)

    async def put(self, key: str, data: bytes, media_type: str) -> None:
        target = object_key(self.prefix, key)
        client = await self._client.get()
        with _translated("PutObject", key):
            await client.put_object(Bucket=self.bucket, Key=target, Body=data, ContentType=media_type)

    async def get(self, key: str) -> bytes:
        target = object_key(self.prefix, key)
        client = await self._client.get()
        with _translated("GetObject", key):
            response = await client.get_object(Bucket=self.bucket, Key=target)
            async with response["Body"] as stream:
                return bytes(await stream.read())

    async def exists(self, key: str) -> bool:
        target = object_key(self.prefix, key)
        client = await self._client.get()
        try:
            with _translated("HeadObject", key):
                await client.head_object(Bucket=self.bucket, Key=target)
        except BlobNotFound:
            return False
        return True

    async def copy(self, src: str, dst: str) -> None:
        source, target = object_key(self.prefix, src), object_key(self.prefix, dst)
        client = await self._client.get()
        with _translated("CopyObject", src):
            await client.copy_object(
                Bucket=self.bucket, Key=target, CopySource={"Bucket": self.bucket, "Key": source}
            )

    async def delete(self, key: str) -> None:
        client = await self._client.get()
        with _translated("DeleteObject", key):  # S3 answers success for a missing key too
            await client.delete_object(Bucket=self.bucket, Key=object_key(self.prefix, key))

    async def close(self) -> None:
        await self._client.close()


class CloudFrontUrlSigner:
    """Signed CloudFront URLs for `https://<domain>/<object key>` (the bucket is the origin)."""

    def __init__(self, domain: str, key_id: str, private_key: rsa.RSAPrivateKey, prefix: str = "") -> None:
        self._base = f"https://{domain.removeprefix('https://').rstrip('/')}"
        self._prefix = prefix
        self._key = private_key
        self._signer = CloudFrontSigner(key_id, self._rsa_sign)

    @classmethod
    def from_pem_file(cls, domain: str, key_id: str, path: Path, prefix: str = "") -> CloudFrontUrlSigner:
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"cloudfront_private_key_path {str(path)!r}: cannot load a PEM key: {exc}"
            ) from exc
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"cloudfront_private_key_path {str(path)!r}: CloudFront needs an RSA key")
        return cls(domain, key_id, key, prefix)

    def _rsa_sign(self, message: bytes) -> bytes:
        return self._key.sign(message, padding.PKCS1v15(), hashes.SHA1())

    def sign(self, key: str, ttl_s: int, base_url: str = "") -> str:
        """base_url (where the request came in) is unused: the URL points at CloudFront."""
        url = f"{self._base}/{quote(object_key(self._prefix, key))}"
        expires = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=ttl_s)
        return str(self._signer.generate_presigned_url(url, date_less_than=expires))


class S3PresignedUrlSigner:
    def __init__(self, settings: AwsSettings, bucket: str, prefix: str = "") -> None:
        self._bucket = bucket
        self._prefix = prefix
        # Presigning is computed locally: a plain (sync) client, no request is sent.
        self._client: Any = boto3.session.Session().client(
            "s3",
            region_name=settings.region,
            endpoint_url=settings.endpoint_url,
            config=client_config(signature_version="s3v4"),
        )

    def sign(self, key: str, ttl_s: int, base_url: str = "") -> str:
        """base_url (where the request came in) is unused: the URL points at S3."""
        if not 1 <= ttl_s <= MAX_PRESIGN_TTL_S:
            raise ValueError(f"ttl_s must be 1..{MAX_PRESIGN_TTL_S} for S3 presigned URLs, got {ttl_s}")
        params = {"Bucket": self._bucket, "Key": object_key(self._prefix, key)}
        return str(self._client.generate_presigned_url("get_object", Params=params, ExpiresIn=ttl_s))


def open_aws_signer(settings: Settings) -> CloudFrontUrlSigner | S3PresignedUrlSigner:
    """CloudFront when its domain, key id and key file are set (all or none); else S3 presigned URLs."""
    aws = settings.aws
    url = settings.resolved_blob_url()
    if not url.startswith("s3://"):
        raise ValueError(f"blob_url {url!r}: the aws profile signs s3:// blobs only")
    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    cloudfront = {
        "cloudfront_domain": aws.cloudfront_domain,
        "cloudfront_key_id": aws.cloudfront_key_id,
        "cloudfront_private_key_path": aws.cloudfront_private_key_path,
    }
    missing = [name for name, value in cloudfront.items() if not value]
    if 0 < len(missing) < len(cloudfront):
        raise ValueError(
            f"aws.{', aws.'.join(missing)} must be set too (CloudFront signed URLs need all three)"
        )
    if aws.cloudfront_domain and aws.cloudfront_key_id and aws.cloudfront_private_key_path:
        return CloudFrontUrlSigner.from_pem_file(
            aws.cloudfront_domain, aws.cloudfront_key_id, aws.cloudfront_private_key_path, prefix
        )
    return S3PresignedUrlSigner(aws, bucket, prefix)
