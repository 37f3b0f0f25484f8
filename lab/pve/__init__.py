"""What every lab part shares about the PVE it stands in for (the API and the shims both import it; it imports
neither)."""
