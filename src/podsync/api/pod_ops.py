"""Operations on the pod's practices: needs, agreements, decisions, capacity, feedback."""
