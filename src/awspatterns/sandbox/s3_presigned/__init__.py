"""Presigned S3 requests checked as S3 checks them (``enforcement``, the subsystem): presigned URLs, signed in the
query string with Signature Version 4 or 2 (``signatures``), and browser uploads by POST with a signed policy
(``forms`` reads the form, ``uploads`` checks its signature, ``post_policy`` its policy). The secret of an access
key comes from ``credentials``, the HMACs from ``signing``, and every refusal is S3's XML error (``errors``)."""
