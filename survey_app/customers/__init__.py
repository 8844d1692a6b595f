"""The customer register of each unit: customers, orders, value tiers, invitations."""
