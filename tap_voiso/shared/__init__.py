"""The layer every stream shares.

HTTP and its errors, retries and pacing, redaction, schema checks and evolution,
Singer output, signals and state. Nothing here knows what a CDR window or a directory
list is: a stream says what it reads (`http.VoisoStream`); this layer sends, retries,
paces and reports it.
"""
