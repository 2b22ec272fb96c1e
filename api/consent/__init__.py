"""PIPL consent: records per member, purpose and product; the rule read paths apply."""
