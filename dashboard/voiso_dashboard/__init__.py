"""A self-contained dashboard page of dbt_voiso's marts (the Meltano utility `dashboard`)."""
