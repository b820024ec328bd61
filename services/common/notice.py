"""The use restriction the Clerk's data carries: one text for the API, the site, the CSV and the feeds."""

USE_RESTRICTION = (
    "Use restriction (5 U.S.C. 13107): the financial disclosure data of the Clerk of the U.S. House "
    "of Representatives may not be used for any unlawful purpose, for any commercial purpose other "
    "than by news and communications media for dissemination to the general public, to determine or "
    "establish the credit rating of any individual, or for use, directly or indirectly, in the "
    "solicitation of money for any political, charitable, or other purpose."
)
