"""The youth's rights under the AVG: access (art. 15), rectification (art. 16, with the
notification of art. 19) and erasure (art. 17).

- `export`: everything held about a youth and the family members of the case, with every
  processing log entry about them, as data and as a standalone HTML page.
- `correction`: correct the youth's name, date of birth or address; partners that were sent the
  corrected data are told, only what they were sent.
- `erasure`: cancel the open rounds and delete the personal data everywhere in the municipal
  database; the processing log keeps an entry that it happened, without personal data.
"""
