"""Language modelling: next-token sampling."""
