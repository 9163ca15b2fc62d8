"""ODK submission encryption and decryption, Kobo-shaped XML↔JSON, and form key handling.

* ``odk``: the ODK scheme itself — ``decrypt_submission(manifest_xml, files, private_key)``,
  ``encrypt_submission(xml, public_key, instance_id, form_id, version, media)``, the manifest
  layouts of Collect and Enketo, and the quarantine codes (``CRYPT_*``).
* ``xml_to_json``: ``submission_from_xml(form, xml)`` (KPI's flattening) and its inverse
  ``xml_from_submission(form, record)`` for the sandbox.
* ``keys``: ``load_private_key(s)`` from ``SUARA_FORM_PRIVATE_KEY`` with configuration errors
  naming the form, ``generate_keypair()``, ``parse_public_key`` (what Collect accepts).
* ``pull``: ``decrypt_record`` / ``decrypt_records`` turn encrypted Kobo API rows into the rows
  Kobo would serve for an unencrypted form.
* ``form_rules``: the encryption findings of ``suara forms check``.

Shared background: shared/encryption.md (spec, Kobo's presentation, pitfalls, vectors).
"""
